"""Fine-tune Whisper on your own data and export it for fast inference (issue 7)."""
