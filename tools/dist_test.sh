#!/usr/bin/env bash
# Multi-process evaluation with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS_PER_NODE [tools/test.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (see tools/dist_launch.sh). Without GPUs: gloo on CPU.
exec "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
