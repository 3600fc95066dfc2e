"""Rules on T3 Code's migration ledger, for V1 and Orchestration V2 files alike."""
