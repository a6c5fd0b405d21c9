"""Speech emotion recognition: features, models, speaker-independent scores (issue 12)."""
