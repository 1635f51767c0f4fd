#!/usr/bin/env bash
# Train on a Slurm cluster: one task per GPU, MMEngine's slurm launcher (rank, world size, local rank and the
# master address come from SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID / the first node of the allocation).
#
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=8] [MASTER_PORT=29500] [SRUN_ARGS="--time=48:00:00"] \
#       tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [tools/train.py options, e.g. --amp --resume]
#
# Multi-node: GPUS is the total over all nodes (GPUS=64 GPUS_PER_NODE=8 -> 8 nodes); the FSDP configs
# (configs/_base_/strategies/fsdp.py) shard over all of them. NCCL_SOCKET_IFNAME / NCCL_IB_HCA may be needed on
# clusters with several network interfaces.
set -euo pipefail

if [ $# -lt 3 ]; then
    sed -n '2,9p' "$0"
    exit 1
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=${4:-}
shift $(( $# < 4 ? $# : 4 ))
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
CPUS_PER_TASK=${CPUS_PER_TASK:-8}
SRUN_ARGS=${SRUN_ARGS:-""}
export MASTER_PORT=${MASTER_PORT:-29500}
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK_DIR_ARGS=()
if [ -n "${WORK_DIR}" ]; then
    WORK_DIR_ARGS=(--work-dir "${WORK_DIR}")
fi

PYTHONPATH="${REPO_ROOT}:${PYTHONPATH:-}" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "${REPO_ROOT}/tools/train.py" "${CONFIG}" "${WORK_DIR_ARGS[@]}" --launcher slurm "$@"
