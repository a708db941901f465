//! Tool calls (issue #7): tools declared in config, arguments validated
//! before anything runs, approval of high-risk calls, and the audit log.
