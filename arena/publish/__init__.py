"""Publishing to GitHub: credentials, the issue as a task, candidate branches, the draft PR, read-back."""
