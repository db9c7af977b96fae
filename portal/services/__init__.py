"""Domain services: functions `verb_noun(actor, ...)` in a fixed order: load → require
permission → validate → change → enqueue index job → audit. They never touch
`flask.request` or `current_user`, so the CLI and the indexer can call them; they run
inside `unit_of_work()` and never commit themselves."""
