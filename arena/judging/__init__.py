"""The judge: evaluate every candidate patch, cross-validate, review, and pick a winner."""
