//! The Postgres test harness (tests/support/postgres.rs) checked against
//! itself: the bundled server is PostgreSQL 16 with pgvector 0.6.2 (an
//! HNSW index queried by cosine distance), it listens only on 127.0.0.1
//! and refuses a wrong password, stop and start_again keep the data, and
//! servers in parallel tests stay apart.
//!
//! Needs `CONFAB_PG_BIN` (pgserver's bin dir); `scripts/test.sh` sets it.

mod support;

use support::postgres::PgServer;

#[test]
fn the_server_is_postgres_16_with_pgvector() {
    let pg = PgServer::start();
    let version = pg.psql("select version()");
    assert!(version.starts_with("PostgreSQL 16."), "{version}");
    let vector = pg.psql("select extversion from pg_extension where extname = 'vector'");
    assert_eq!(vector, "0.6.2", "pgvector in database confab");
    assert_eq!(pg.psql("show listen_addresses"), "127.0.0.1");
    assert_eq!(
        pg.psql("select current_user || ' ' || current_database()"),
        "confab confab"
    );
    assert_eq!(
        pg.url(),
        format!("postgres://confab@127.0.0.1:{}/confab", pg.port())
    );
    assert_eq!(
        pg.url_with_password(),
        format!(
            "postgres://confab:{}@127.0.0.1:{}/confab",
            pg.password(),
            pg.port()
        )
    );
}

#[test]
fn an_hnsw_index_answers_cosine_distance_queries() {
    let pg = PgServer::start();
    pg.psql(
        "create table items (id int primary key, embedding vector(3));
         insert into items values (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0,0,1]'), (4, '[1,1,0]');
         create index on items using hnsw (embedding vector_cosine_ops)",
    );
    let nearest = "select id from items order by embedding <=> '[0.9,0.1,0]' limit 2";
    let plan = pg.psql(&format!("set enable_seqscan = off; explain {nearest}"));
    assert!(
        plan.contains("items_embedding_idx"),
        "the index is not used: {plan}"
    );
    assert_eq!(
        pg.psql(&format!("set enable_seqscan = off; {nearest}")),
        "1\n4"
    );
    let distance =
        pg.psql("select round((embedding <=> '[0,2,0]')::numeric, 6) from items where id = 2");
    assert_eq!(distance, "0.000000");
}

#[test]
fn a_wrong_or_missing_password_is_refused() {
    let pg = PgServer::start();
    let wrong = pg
        .psql_command()
        .env("PGPASSWORD", "not-the-password")
        .args(["-c", "select 1"])
        .output()
        .expect("running psql");
    assert!(!wrong.status.success(), "a wrong password was accepted");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    let missing = pg
        .psql_command()
        .env_remove("PGPASSWORD")
        .args(["-c", "select 1"])
        .output()
        .expect("running psql");
    assert!(!missing.status.success(), "no password was accepted");
}

#[test]
fn stop_refuses_connections_and_start_again_brings_the_data_back() {
    let mut pg = PgServer::start();
    let port = pg.port();
    pg.psql("create table notes (body text); insert into notes values ('kept')");
    pg.stop();
    let down = pg
        .psql_command()
        .args(["-c", "select 1"])
        .output()
        .expect("running psql");
    assert!(!down.status.success(), "a stopped server answered");
    pg.start_again();
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("select body from notes"), "kept");
    assert!(!pg
        .psql("select extversion from pg_extension where extname = 'vector'")
        .is_empty());
}

#[test]
fn servers_in_parallel_stay_apart() {
    let servers: Vec<PgServer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(PgServer::start)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a server"))
            .collect()
    });
    for (i, pg) in servers.iter().enumerate() {
        pg.psql(&format!("create table only_in_{i} (x int)"));
    }
    for (i, pg) in servers.iter().enumerate() {
        let tables = pg.psql(
            "select string_agg(tablename, ',') from pg_tables where tablename like 'only_in_%'",
        );
        assert_eq!(tables, format!("only_in_{i}"));
    }
    let mut ports: Vec<u16> = servers.iter().map(PgServer::port).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), servers.len(), "two servers share a port");
}
