"""Where evaluations run. For now: threads on this machine, over the warm fork server
(see `selftaught.stop.meta_utility`); Ray comes with its own issue."""
