/* STUB: bt86's command line (frontend/cli.c) arrives with the frontend. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "bt86: not built yet\n");
    return 1;
}
