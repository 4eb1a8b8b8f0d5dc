"""One-sample RL (arXiv 2601.03111, One-Shot RLVR): the LIM-floor pool, skills, selection, label check, export."""
