"""Fine-tuning Whisper on your own data, evaluated with the right metric, exported for fast inference (issue 7)."""
