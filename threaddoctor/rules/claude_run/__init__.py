"""Rules for Claude Code run logs (stream-json output and claude-code-action execution files)."""
