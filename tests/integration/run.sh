echo "integration: none yet"
