"""Code shared by the scripts: checkpoints, the tokenizer, devices, errors, files, generation and run folders."""
