#!/usr/bin/env bash
# Multi-process training with torchrun: tools/dist_train.sh CONFIG NUM_PROCS_PER_NODE [tools/train.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (see tools/dist_launch.sh). Without GPUs: gloo on CPU.
exec "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
