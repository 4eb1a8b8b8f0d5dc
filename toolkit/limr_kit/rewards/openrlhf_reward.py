"""The file to pass to OpenRLHF as ``--reward.remote_url``: it defines ``reward_func``.

    --reward.remote_url $(python -c "import limr_kit.rewards.openrlhf_reward as m; print(m.__file__)")

Configure it through the environment of the Ray job: LIMR_REWARD_MODE (default | limr-compat),
LIMR_ANSWER_POLICY (boxed | last-boxed-or-final | math-verify), LIMR_REWARD_SCHEME (limr | binary),
LIMR_REWARD_LOG_DIR (a shared folder for the per-process reward logs), LIMR_REWARD_TIMEOUT (seconds).
Labels are JSON strings ``{"sample_id": ..., "answer": ...}`` (or a bare answer).
"""

from limr_kit.rewards.trainers import OpenRLHFReward


reward_func = OpenRLHFReward()
