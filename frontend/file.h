/* Reading a whole input file (kernel, module) into host memory, with one
 * clear error message when it cannot be. */
#ifndef BT86_FRONTEND_FILE_H
#define BT86_FRONTEND_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Read `path` (a regular file of at most max_len bytes). `what` names it in
 * messages ("kernel", "module"). Returns 0 with a malloc'ed buffer, or -1
 * with a message in err. */
int file_read_all(const char *path, const char *what, size_t max_len,
                  uint8_t **data, size_t *len, char *err, size_t errlen);

#endif
