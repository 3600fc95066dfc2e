"""Rules for Orchestration V2 (`statev2.sqlite`): the stuck states its start-up recovery leaves."""
