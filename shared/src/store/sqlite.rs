//! The embedded adapter: every item in one SQLite file.
//!
//! SQLite in WAL mode gives crash safety (a killed process loses nothing it acknowledged) and
//! concurrent readers beside one writer. With the default `synchronous=NORMAL` a commit is in
//! the OS before it returns, so it survives `kill -9`; on a power loss the last commits before
//! the most recent WAL sync may roll back (the file stays consistent). `Durability::Full`
//! (`SWITCHBOARD_SYNC=full`) syncs on every commit and survives power loss too.
//!
//! The queue adapter shares the same file (see [`Database`]), so `serve` keeps all its state
//! in one place.

use super::{
    Condition, Index, Item, ItemKey, Page, Query, SortKeyRange, Store, StoreError, TxOp, Update,
    condition_holds, now_epoch_seconds,
};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survives a killed process; a power loss may roll back the newest commits.
    #[default]
    Normal,
    /// Every commit is synced: survives power loss, costs an fsync per commit.
    Full,
}

const READERS: usize = 4;

/// What a queued write hands back: whether it succeeded (so its savepoint is kept or rolled
/// back) and how to answer its caller once the group's commit is known.
type Completion = (bool, Box<dyn FnOnce(Option<&StoreError>) + Send>);
/// A write waiting for the writer thread.
type WriteJob = Box<dyn FnOnce(&Connection) -> Completion + Send>;

/// The most writes committed together.
const MAX_GROUP: usize = 512;

/// One SQLite database file: a writer thread doing group commit, and a few reader connections.
///
/// Group commit: concurrent writes queue up for the one writer thread, which runs every waiting
/// write inside one transaction (each in its own savepoint, so one failing write rolls back only
/// itself), commits once, and only then answers each caller. Under load many writes share one
/// commit (and one fsync with `Durability::Full`); alone, a write commits by itself at once.
pub struct Database {
    /// Dropped with the database, which ends the checkpointer thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
    writer: std::sync::mpsc::Sender<WriteJob>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    path: PathBuf,
}

/// The database holds every tenant's records: it is created 0600 before SQLite opens it, so the
/// WAL and shared-memory files SQLite makes beside it get the same mode (SQLite copies the
/// database file's mode to them). Files an older version left wider are narrowed.
fn private_files(path: &Path) -> Result<(), StoreError> {
    let err =
        |p: &Path, e: std::io::Error| StoreError::Unavailable(format!("{}: {e}", p.display()));
    crate::private_fs::ensure_file(path).map_err(|e| err(path, e))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        crate::private_fs::narrow_if_exists(&side).map_err(|e| err(&side, e))?;
    }
    Ok(())
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

impl Database {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<Arc<Self>, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_fs::create_dir(dir)
                .map_err(|e| StoreError::Unavailable(format!("create {}: {e}", dir.display())))?;
        }
        private_files(path)?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        let open = || -> Result<Connection, StoreError> {
            let conn = Connection::open(path).map_err(sqlite_err)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(sqlite_err)?;
            conn.execute_batch(&format!(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=OFF;
                 PRAGMA temp_store=MEMORY;"
            ))
            .map_err(sqlite_err)?;
            Ok(conn)
        };
        let writer = open()?;
        // Copying WAL frames into the database file was a quarter of the writer thread's time
        // (a checkpoint on every commit that crossed 1,000 pages, on the one thread all writes
        // wait for). A checkpointer thread with its own connection now copies them as they
        // come (see `checkpoint_loop`); the writer starts the WAL over when asked, and
        // checkpoints itself only as a backstop, if the WAL outgrows twice the size at which it
        // is asked to (a checkpointer that falls far behind a burst).
        writer
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint={}; PRAGMA journal_size_limit=67108864;",
                2 * RESTART_AT_PAGES
            ))
            .map_err(sqlite_err)?;
        writer
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS items (
                    pk TEXT NOT NULL, sk TEXT NOT NULL, ttl INTEGER, body TEXT NOT NULL,
                    PRIMARY KEY (pk, sk)) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS queue (
                    id TEXT PRIMARY KEY, body TEXT NOT NULL, visible_at INTEGER NOT NULL,
                    receive_count INTEGER NOT NULL DEFAULT 0, receipt TEXT,
                    dead INTEGER NOT NULL DEFAULT 0, dead_reason TEXT, sent_at INTEGER NOT NULL);
                 CREATE INDEX IF NOT EXISTS queue_ready ON queue (dead, visible_at);",
            )
            .map_err(sqlite_err)?;
        add_index_columns(&writer)?;
        let readers = (0..READERS)
            .map(|_| open().map(Mutex::new))
            .collect::<Result<_, _>>()?;
        let checkpointer = open()?;
        let restart = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let asked = Arc::clone(&restart);
        std::thread::Builder::new()
            .name("switchboard-sqlite-checkpointer".into())
            .spawn(move || checkpoint_loop(checkpointer, stopped, &asked))
            .map_err(|e| StoreError::Unavailable(format!("start checkpointer thread: {e}")))?;
        let (sender, jobs) = std::sync::mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("switchboard-sqlite-writer".into())
            .spawn(move || write_loop(writer, jobs, &restart))
            .map_err(|e| StoreError::Unavailable(format!("start writer thread: {e}")))?;
        Ok(Arc::new(Self {
            _checkpointer: stop,
            writer: sender,
            readers,
            next_reader: AtomicUsize::new(0),
            path: path.to_owned(),
        }))
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` atomically on the writer connection and answers once it is committed. If `f`
    /// returns an error, none of its changes are kept.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: WriteJob = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let reply = move |commit: Option<&StoreError>| {
                let _ = answer.send(match (result, commit) {
                    (Ok(v), None) => Ok(v),
                    (Ok(_), Some(e)) => Err(StoreError::Unavailable(e.to_string())),
                    (Err(e), _) => Err(e),
                });
            };
            (ok, Box::new(reply))
        });
        self.writer
            .send(job)
            .map_err(|_| StoreError::Unavailable("the writer thread stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("the writer thread dropped a write".into()))?
    }

    /// Runs `f` on a reader connection, in place. Reads are point lookups and short range scans
    /// of a WAL database whose pages are cached, taking microseconds: cheaper than a hop to the
    /// blocking pool (measured: `block_in_place` and `spawn_blocking` both cost more throughput
    /// than the read itself). With [`READERS`] connections and `try_lock`, a read does not wait
    /// behind another read.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(self);
        let read = move || {
            let start = db.next_reader.fetch_add(1, Ordering::Relaxed);
            for i in 0..READERS {
                if let Ok(conn) = db.readers[(start + i) % READERS].try_lock() {
                    return f(&conn);
                }
            }
            let conn = db.readers[start % READERS]
                .lock()
                .map_err(|_| StoreError::Unavailable("reader lock poisoned".into()))?;
            f(&conn)
        };
        read()
    }
}

/// The writer thread: takes every write waiting, runs them in one transaction, commits once.
fn write_loop(conn: Connection, jobs: std::sync::mpsc::Receiver<WriteJob>, restart: &AtomicBool) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(group.len());
        if let Err(e) = exec(&conn, "BEGIN IMMEDIATE", []) {
            // Dropping the writes answers each caller with an error: nothing was written.
            tracing::error!(error = %e, "sqlite writer could not begin a transaction");
            continue;
        }
        for job in group {
            if let Some(done) = run_in_savepoint(&conn, job) {
                replies.push(done);
            }
        }
        let committed = exec(&conn, "COMMIT", []).map_err(sqlite_err).err();
        if committed.is_some() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for (_, reply) in replies {
            reply(committed.as_ref());
        }
        if restart.load(Ordering::Acquire) {
            // Between groups, with no transaction open and the checkpointer waiting: copy the
            // few frames it has not, and make the next commit start the WAL over.
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| {
                row.get::<_, i64>(0)
            }) {
                tracing::warn!(error = %e, "sqlite WAL restart failed; asked again later");
            }
            restart.store(false, Ordering::Release);
        }
    }
}

/// How often the checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// The WAL size (pages, 32 MiB) at which the writer is asked to start it over.
const RESTART_AT_PAGES: i64 = 8000;

/// The checkpointer thread: a passive checkpoint every [`CHECKPOINT_EVERY`]. It never waits for
/// the writer or readers and copies only frames no reader still needs, so the writer never
/// spends its time copying. But a background checkpoint never catches up with a busy writer,
/// and only a checkpoint that does lets the WAL start over; so once the WAL passes
/// [`RESTART_AT_PAGES`] the writer is asked to finish the job between two groups (a few
/// frames are left by then), and the checkpointer pauses until it has. Ends when the
/// [`Database`] is dropped.
fn checkpoint_loop(conn: Connection, stopped: std::sync::mpsc::Receiver<()>, restart: &AtomicBool) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        if restart.load(Ordering::Acquire) {
            continue;
        }
        // (busy, pages in the WAL, pages copied)
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(1)
        }) {
            Ok(pages) if pages >= RESTART_AT_PAGES => restart.store(true, Ordering::Release),
            Ok(_) => {}

            Err(e) => tracing::warn!(error = %e, "sqlite checkpoint failed; retrying"),
        }
    }
}

/// Runs one write in its own savepoint; a failed write is rolled back alone. `None` when the
/// write could not run (its caller then gets an error when the job is dropped).
fn run_in_savepoint(conn: &Connection, job: WriteJob) -> Option<Completion> {
    exec(conn, "SAVEPOINT w", []).ok()?;
    let (ok, reply) = job(conn);
    if !ok {
        let _ = exec(conn, "ROLLBACK TO w", []);
    }
    let _ = exec(conn, "RELEASE w", []);
    Some((ok, reply))
}

/// The embedded item store.
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Database>,
}

impl SqliteStore {
    /// Opens the store in `path` (a SQLite file, created if missing).
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        Ok(Self {
            db: Database::open(path, durability)?,
        })
    }

    /// A store over an already open database (shared with the queue).
    pub fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }
}

/// Runs one statement through the connection's statement cache (parsing SQL is a measurable
/// share of a write otherwise).
pub(crate) fn exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn decode(body: &str) -> Result<Item, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn live_item(conn: &Connection, key: &ItemKey, now: i64) -> Result<Option<Item>, StoreError> {
    conn.prepare_cached(
        "SELECT body FROM items WHERE pk = ?1 AND sk = ?2 AND (ttl IS NULL OR ttl >= ?3)",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![key.pk, key.sk, now], |row| row.get::<_, String>(0))
    })
    .optional()
    .map_err(sqlite_err)?
    .map(|body| decode(&body))
    .transpose()
}

/// The secondary index (`Index::Gsi1`) is two nullable columns with a partial index; files made
/// before it existed get the columns on open (their items are in no index, as on DynamoDB when a
/// GSI is added to items that lack its attributes).
fn add_index_columns(conn: &Connection) -> Result<(), StoreError> {
    let has = conn
        .prepare("SELECT 1 FROM pragma_table_info('items') WHERE name = 'gsi1pk'")
        .and_then(|mut stmt| stmt.exists([]))
        .map_err(sqlite_err)?;
    if !has {
        conn.execute_batch(
            "ALTER TABLE items ADD COLUMN gsi1pk TEXT; ALTER TABLE items ADD COLUMN gsi1sk TEXT;",
        )
        .map_err(sqlite_err)?;
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;",
    )
    .map_err(sqlite_err)
}

/// An item ready for its row: encoded by the caller, so the single writer thread spends its time
/// on SQLite and not on JSON or on freeing the item's maps.
struct Encoded {
    key: ItemKey,
    ttl: Option<i64>,
    /// The item's `Index::Gsi1` keys, when it carries both.
    gsi1: Option<(String, String)>,
    body: String,
}

impl Encoded {
    fn of(item: &Item) -> Result<Self, StoreError> {
        let (pk_attr, sk_attr) = Index::Gsi1.key_attributes();
        let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            key: ItemKey::of(item)?,
            ttl: item.get("ttl").and_then(Value::as_i64),
            gsi1: text(pk_attr).zip(text(sk_attr)),
            body: serde_json::to_string(item).map_err(|e| StoreError::Invalid(e.to_string()))?,
        })
    }
}

fn write_item(tx: &Connection, item: &Encoded) -> Result<(), StoreError> {
    let (gsi1pk, gsi1sk) = item.gsi1.clone().unzip();
    exec(
        tx,
        "INSERT OR REPLACE INTO items (pk, sk, ttl, body, gsi1pk, gsi1sk) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            item.key.pk,
            item.key.sk,
            item.ttl,
            item.body,
            gsi1pk,
            gsi1sk
        ],
    )
    .map_err(sqlite_err)?;
    Ok(())
}

/// One operation of a transaction, encoded before it reaches the writer.
enum EncodedOp {
    Put(Encoded, Option<Condition>),
    Delete(ItemKey, Option<Condition>),
    Check(ItemKey, Condition),
    Update(ItemKey, Update, Option<Condition>),
}

impl EncodedOp {
    fn of(op: TxOp) -> Result<Self, StoreError> {
        Ok(match op {
            TxOp::Put { item, condition } => Self::Put(Encoded::of(&item)?, condition),
            TxOp::Delete { key, condition } => Self::Delete(key, condition),
            TxOp::Check { key, condition } => Self::Check(key, condition),
            TxOp::Update {
                key,
                update,
                condition,
            } => Self::Update(key, update, condition),
        })
    }

    fn key(&self) -> &ItemKey {
        match self {
            Self::Put(item, _) => &item.key,
            Self::Delete(key, _) | Self::Check(key, _) | Self::Update(key, _, _) => key,
        }
    }

    fn condition(&self) -> Option<&Condition> {
        match self {
            Self::Put(_, condition)
            | Self::Delete(_, condition)
            | Self::Update(_, _, condition) => condition.as_ref(),
            Self::Check(_, condition) => Some(condition),
        }
    }
}

fn delete_item(tx: &Connection, key: &ItemKey) -> Result<(), StoreError> {
    exec(
        tx,
        "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
        params![key.pk, key.sk],
    )
    .map_err(sqlite_err)?;
    Ok(())
}

fn check(condition: Option<&Condition>, current: Option<&Item>) -> Result<(), StoreError> {
    match condition {
        Some(c) if !condition_holds(c, current) => Err(StoreError::ConditionFailed),
        _ => Ok(()),
    }
}

/// Applies `update` to `current` (or a fresh item at `key`), as DynamoDB's ADD and SET do.
pub(crate) fn apply_update(
    key: &ItemKey,
    current: Option<Item>,
    update: &Update,
) -> Result<Item, StoreError> {
    let mut item = current.unwrap_or_default();
    item.insert("PK".into(), Value::String(key.pk.clone()));
    item.insert("SK".into(), Value::String(key.sk.clone()));
    for (name, delta) in &update.add {
        let old = match item.get(name) {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| StoreError::Invalid(format!("`{name}` is not an integer")))?,
        };
        item.insert(name.clone(), Value::from(old.saturating_add(*delta)));
    }
    for (name, value) in &update.set {
        item.insert(name.clone(), value.clone());
    }
    Ok(item)
}

/// The upper bound of every string that starts with `prefix`.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.db
            .read(move |conn| live_item(conn, &key, now_epoch_seconds()))
            .await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let item = Encoded::of(&item)?;
        self.db
            .write(move |tx| {
                if condition.is_some() {
                    let current = live_item(tx, &item.key, now_epoch_seconds())?;
                    check(condition.as_ref(), current.as_ref())?;
                }
                write_item(tx, &item)
            })
            .await
    }

    async fn delete(&self, key: &ItemKey, condition: Option<Condition>) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .write(move |tx| {
                if condition.is_some() {
                    let current = live_item(tx, &key, now_epoch_seconds())?;
                    check(condition.as_ref(), current.as_ref())?;
                }
                delete_item(tx, &key)
            })
            .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        if query.limit == 0 || query.limit > 1000 {
            return Err(StoreError::Invalid("limit must be 1..=1000".into()));
        }
        let query = query.clone();
        self.db
            .read(move |conn| {
                // The same statement reads the table or the index, by which columns it names.
                let (pk_col, sk_col, sk_attr) = match query.index {
                    None => ("pk", "sk", "SK"),
                    Some(Index::Gsi1) => ("gsi1pk", "gsi1sk", Index::Gsi1.key_attributes().1),
                };
                let mut sql = format!(
                    "SELECT {sk_col}, body FROM items WHERE {pk_col} = ?1 AND (ttl IS NULL OR ttl >= ?2)"
                );
                let mut args: Vec<Box<dyn rusqlite::ToSql>> =
                    vec![Box::new(query.pk.clone()), Box::new(now_epoch_seconds())];
                let mut bind = |sql: &mut String, clause: &str, value: String| {
                    args.push(Box::new(value));
                    sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
                };
                match &query.range {
                    SortKeyRange::All => {}
                    SortKeyRange::Prefix(p) => {
                        bind(&mut sql, &format!(" AND {sk_col} >= ?"), p.clone());
                        bind(&mut sql, &format!(" AND {sk_col} < ?"), prefix_end(p));
                    }
                    SortKeyRange::Between(a, b) => {
                        bind(&mut sql, &format!(" AND {sk_col} >= ?"), a.clone());
                        bind(&mut sql, &format!(" AND {sk_col} <= ?"), b.clone());
                    }
                }
                if let Some(after) = &query.start_after {
                    let op = if query.forward { ">" } else { "<" };
                    bind(&mut sql, &format!(" AND {sk_col} {op} ?"), after.clone());
                }
                let order = if query.forward { "ASC" } else { "DESC" };
                sql.push_str(&format!(
                    " ORDER BY {sk_col} {order} LIMIT {}",
                    query.limit + 1
                ));
                let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_err)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args.iter()), |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                    })
                    .map_err(sqlite_err)?;
                let mut page = Page::default();
                for row in rows {
                    let (sk, body) = row.map_err(sqlite_err)?;
                    if page.items.len() == query.limit {
                        page.last_sk = page
                            .items
                            .last()
                            .and_then(|i| i.get(sk_attr))
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        break;
                    }
                    let _ = sk;
                    page.items.push(decode(&body)?);
                }
                Ok(page)
            })
            .await
    }

    async fn update(
        &self,
        key: &ItemKey,
        update: &Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let key = key.clone();
        let update = update.clone();
        self.db
            .write(move |tx| {
                let current = live_item(tx, &key, now_epoch_seconds())?;
                check(condition.as_ref(), current.as_ref())?;
                let item = apply_update(&key, current, &update)?;
                write_item(tx, &Encoded::of(&item)?)?;
                Ok(item)
            })
            .await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        let ops = ops
            .into_iter()
            .map(EncodedOp::of)
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = std::collections::HashSet::new();
        if !ops.iter().all(|op| seen.insert(op.key())) {
            return Err(StoreError::Invalid(
                "a transaction names one key twice".into(),
            ));
        }
        self.db
            .write(move |tx| {
                let now = now_epoch_seconds();
                for op in &ops {
                    if let Some(condition) = op.condition() {
                        check(Some(condition), live_item(tx, op.key(), now)?.as_ref())?;
                    }
                }
                for op in &ops {
                    match op {
                        EncodedOp::Put(item, _) => write_item(tx, item)?,
                        EncodedOp::Delete(key, _) => delete_item(tx, key)?,
                        EncodedOp::Check(..) => {}
                        EncodedOp::Update(key, update, _) => {
                            let current = live_item(tx, key, now)?;
                            let item = apply_update(key, current, update)?;
                            write_item(tx, &Encoded::of(&item)?)?;
                        }
                    }
                }
                Ok(())
            })
            .await
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}
