"""Speech emotion recognition: features, classic and CNN models, speaker-independent evaluation (issue 12)."""
