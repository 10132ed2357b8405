"""Click attribution: signed tokens, click recording off the hot path, and credit rules."""
