//! A deterministic investment dataset of any size, written straight into the database.
//!
//! One user with a few items, five accounts per item, a universe of securities (a few
//! real tickers that most trades go to, the rest synthetic), a fixed number of holdings
//! per account and `transactions` investment transactions over 24 months. Every value
//! comes from a seeded generator, so two runs (and the two databases) hold the same rows.
//!
//! Rows go in through the entities' `ActiveModel`s, so every column the schema requires
//! is set the way the application sets it; a new column is one line in the row builder.
//! Speed comes from multi-row `INSERT`s of as many rows as [`VALUES_PER_INSERT`] bound
//! values allow, inside one database transaction, built on another thread while the
//! database runs the previous one, and from writing transactions in date order, so that
//! the date-leading indexes grow at their ends instead of splitting pages all over.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use investments::db::Numeric;
use investments::db::decimal::sort_key;
use investments::db::entities::{
    accounts, investment_holdings as holdings, investment_transactions as transactions,
    plaid_items, securities,
};
use investments::db::unscoped::Unscoped;
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Iterable, QueryFilter,
    QuerySelect, QueryTrait, Set, Statement, TransactionTrait,
};

/// Bound values per multi-row `INSERT`: below SQLite's limit of 32,766 (PostgreSQL's is
/// 65,535); rows per statement follow from the table's column count.
const VALUES_PER_INSERT: usize = 32_000;
/// The last day with transactions; fixed, so the data does not depend on the day it runs.
pub const LAST_DAY: (i32, u32, u32) = (2026, 6, 30);
/// Days of transactions, ending on [`LAST_DAY`] (24 months).
pub const DAYS: i64 = 730;
/// The ticker that the name search (`contains`) looks for: the most traded security.
pub const POPULAR_TICKER: &str = "VTI";

/// Tickers of the first securities, which the skewed choice of a trade's security makes
/// the most traded ones (the first one most).
const REAL: [(&str, &str, &str); 20] = [
    ("VTI", "Vanguard Total Stock Market ETF", "etf"),
    ("VOO", "Vanguard S&P 500 ETF", "etf"),
    ("AAPL", "Apple Inc.", "equity"),
    ("MSFT", "Microsoft Corporation", "equity"),
    ("BND", "Vanguard Total Bond Market ETF", "etf"),
    ("AMZN", "Amazon.com, Inc.", "equity"),
    ("VXUS", "Vanguard Total International Stock ETF", "etf"),
    ("GOOG", "Alphabet Inc. Class C", "equity"),
    ("NVDA", "NVIDIA Corporation", "equity"),
    ("SPY", "SPDR S&P 500 ETF Trust", "etf"),
    ("QQQ", "Invesco QQQ Trust", "etf"),
    ("META", "Meta Platforms, Inc.", "equity"),
    ("TSLA", "Tesla, Inc.", "equity"),
    ("BRK.B", "Berkshire Hathaway Inc. Class B", "equity"),
    ("JPM", "JPMorgan Chase & Co.", "equity"),
    ("SCHD", "Schwab U.S. Dividend Equity ETF", "etf"),
    ("AGG", "iShares Core U.S. Aggregate Bond ETF", "etf"),
    ("FXAIX", "Fidelity 500 Index Fund", "mutual fund"),
    (
        "VBTLX",
        "Vanguard Total Bond Market Index Fund Admiral",
        "mutual fund",
    ),
    ("CUR:USD", "U.S. Dollar", "cash"),
];

/// The index of the cash security (`CUR:USD`), which holdings hold and trades never touch.
const CASH: usize = REAL.len() - 1;

/// How big the dataset is.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub transactions: usize,
    pub items: usize,
    pub accounts_per_item: usize,
    pub securities: usize,
    pub holdings_per_account: usize,
}

impl Shape {
    /// The benchmark's shape: 4 items, 20 accounts, 2,000 securities, 20,000 holdings.
    pub fn full(transactions: usize) -> Shape {
        Shape {
            transactions,
            items: 4,
            accounts_per_item: 5,
            securities: 2_000,
            holdings_per_account: 1_000,
        }
    }

    /// A small shape for the smoke run: still 500 holdings in the first item.
    pub fn smoke(transactions: usize) -> Shape {
        Shape {
            transactions,
            items: 2,
            accounts_per_item: 5,
            securities: 200,
            holdings_per_account: 100,
        }
    }

    fn accounts(&self) -> usize {
        self.items * self.accounts_per_item
    }
}

/// What the generator knows about the rows it wrote, for the queries' parameters and the
/// checks of their answers.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub user_id: i64,
    pub item_ids: Vec<i64>,
    pub account_ids: Vec<i64>,
    pub holdings: usize,
    /// Holdings of the first item.
    pub first_item_holdings: usize,
    pub last_day: NaiveDate,
    /// Transactions of the first account dated within [`Dataset::recent_from`, last day].
    pub recent_of_first_account: usize,
    pub recent_from: NaiveDate,
    /// `buy` transactions.
    pub buys: usize,
    /// Transactions whose name contains [`POPULAR_TICKER`] (any case).
    pub popular_named: usize,
}

/// SplitMix64: tiny, fast and the same on every platform and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `value` with `scale` decimals.
fn dec(value: f64, scale: u32) -> Decimal {
    let factor = 10f64.powi(scale as i32);
    Decimal::new((value * factor).round() as i64, scale)
}

/// A security of the universe: its ticker, name, type, currency and typical price.
struct SecuritySpec {
    ticker: String,
    name: String,
    kind: &'static str,
    currency: &'static str,
    price: f64,
}

fn security_spec(index: usize) -> SecuritySpec {
    let mut rng = Rng(0x5EC0 + index as u64);
    let price = if index == CASH {
        1.0
    } else {
        5.0 + rng.below(49_500) as f64 / 100.0
    };
    if let Some((ticker, name, kind)) = REAL.get(index) {
        return SecuritySpec {
            ticker: (*ticker).to_owned(),
            name: (*name).to_owned(),
            kind,
            currency: "USD",
            price,
        };
    }
    // `Z` and three letters without `V`: unique (7919 is prime to 25³) and never
    // containing the popular ticker.
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUWXYZ";
    let mut code = (index * 7919) % 15_625;
    let mut ticker = String::from("Z");
    for _ in 0..3 {
        ticker.push(LETTERS[code % 25] as char);
        code /= 25;
    }
    let kind = match index % 20 {
        0..=11 => "equity",
        12..=15 => "etf",
        16 | 17 => "mutual fund",
        18 => "fixed income",
        _ => "derivative",
    };
    SecuritySpec {
        name: format!("{ticker} Holdings Corp."),
        ticker,
        kind,
        currency: if index % 25 == 7 { "CAD" } else { "USD" },
        price,
    }
}

/// A Plaid-like transaction kind and how it moves cash and units.
enum Kind {
    Buy,
    Sell,
    Dividend,
    Deposit,
    Withdrawal,
    Interest,
    Contribution,
    AccountFee,
    ManagementFee,
    Transfer,
}

impl Kind {
    /// 40 % buys, 20 % sells, 25 % cash, 8 % fees, 7 % transfers.
    fn pick(rng: &mut Rng) -> Kind {
        match rng.below(100) {
            0..=39 => Kind::Buy,
            40..=59 => Kind::Sell,
            60..=69 => Kind::Dividend,
            70..=74 => Kind::Deposit,
            75..=76 => Kind::Withdrawal,
            77..=81 => Kind::Interest,
            82..=84 => Kind::Contribution,
            85..=88 => Kind::AccountFee,
            89..=92 => Kind::ManagementFee,
            _ => Kind::Transfer,
        }
    }

    fn type_and_subtype(&self) -> (&'static str, &'static str) {
        match self {
            Kind::Buy => ("buy", "buy"),
            Kind::Sell => ("sell", "sell"),
            Kind::Dividend => ("cash", "dividend"),
            Kind::Deposit => ("cash", "deposit"),
            Kind::Withdrawal => ("cash", "withdrawal"),
            Kind::Interest => ("cash", "interest"),
            Kind::Contribution => ("cash", "contribution"),
            Kind::AccountFee => ("fee", "account fee"),
            Kind::ManagementFee => ("fee", "management fee"),
            Kind::Transfer => ("transfer", "transfer"),
        }
    }

    fn has_security(&self) -> bool {
        matches!(
            self,
            Kind::Buy | Kind::Sell | Kind::Dividend | Kind::Transfer
        )
    }
}

/// Everything a transaction row is made of, before it becomes an `ActiveModel`.
struct TransactionRow {
    account: usize,
    security: Option<usize>,
    date: NaiveDate,
    name: String,
    quantity: Decimal,
    amount: Decimal,
    price: Decimal,
    fees: Option<Decimal>,
    kind: Kind,
    currency: &'static str,
}

/// Transaction `index` of `shape`: its date follows its index (rows come in date order).
fn transaction(
    shape: &Shape,
    specs: &[SecuritySpec],
    first_day: NaiveDate,
    index: usize,
) -> TransactionRow {
    let mut rng = Rng(0x7A5 ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let day = (index as i64 * DAYS) / shape.transactions.max(1) as i64;
    let date = first_day + Duration::days(day);
    let account = rng.below(shape.accounts() as u64) as usize;
    let kind = Kind::pick(&mut rng);
    // Skewed towards the first securities: the real tickers get most trades.
    let security = kind.has_security().then(|| {
        let u = rng.unit();
        match (u * u * shape.securities as f64) as usize {
            CASH => CASH + 1,
            s => s,
        }
    });
    let spec = security.map(|s| &specs[s]);
    let ticker = spec.map_or("", |s| s.ticker.as_str());
    let currency = spec.map_or("USD", |s| s.currency);
    let price = spec.map_or(Decimal::ZERO, |s| {
        dec(s.price * (0.8 + 0.4 * rng.unit()), 2)
    });
    let units = dec(1.0 + rng.below(100_000) as f64 / 1000.0, 3).normalize();
    let cash = dec(1.0 + rng.unit() * rng.unit() * 5_000.0, 2);
    let (name, quantity, amount, fees) = match kind {
        Kind::Buy => {
            let fee = dec(rng.below(3) as f64 * 0.5, 2);
            let amount = (units * price + fee).round_dp(2);
            (format!("BUY {units} {ticker}"), units, amount, Some(fee))
        }
        Kind::Sell => {
            let amount = -(units * price).round_dp(2);
            (
                format!("SELL {units} {ticker}"),
                -units,
                amount,
                Some(Decimal::ZERO),
            )
        }
        Kind::Dividend => (
            format!("DIVIDEND {ticker}"),
            Decimal::ZERO,
            -cash / Decimal::TEN,
            None,
        ),
        Kind::Deposit => ("DEPOSIT".to_owned(), Decimal::ZERO, -cash, None),
        Kind::Withdrawal => ("WITHDRAWAL".to_owned(), Decimal::ZERO, cash, None),
        Kind::Interest => (
            "INTEREST".to_owned(),
            Decimal::ZERO,
            -cash / Decimal::ONE_HUNDRED,
            None,
        ),
        Kind::Contribution => ("CONTRIBUTION".to_owned(), Decimal::ZERO, -cash, None),
        Kind::AccountFee => (
            "ACCOUNT FEE".to_owned(),
            Decimal::ZERO,
            cash / Decimal::ONE_HUNDRED,
            None,
        ),
        Kind::ManagementFee => (
            "MANAGEMENT FEE".to_owned(),
            Decimal::ZERO,
            cash / Decimal::ONE_HUNDRED,
            None,
        ),
        Kind::Transfer => (
            format!("TRANSFER {units} {ticker}"),
            units,
            Decimal::ZERO,
            None,
        ),
    };
    TransactionRow {
        account,
        security,
        date,
        name,
        quantity,
        amount: amount.round_dp(2),
        price,
        fees,
        kind,
        currency,
    }
}

/// What the transaction generator counts for the checks (see [`Dataset`]).
#[derive(Default)]
struct Counts {
    recent_of_first_account: usize,
    buys: usize,
    popular_named: usize,
}

/// The transactions of the dataset as `ActiveModel`s, in date order, counting as it goes.
struct TransactionRows {
    shape: Shape,
    specs: Vec<SecuritySpec>,
    account_ids: Vec<i64>,
    security_ids: Vec<i64>,
    user_id: i64,
    first_day: NaiveDate,
    recent_from: NaiveDate,
    now: DateTime<Utc>,
    next: usize,
    counts: Counts,
}

impl Iterator for TransactionRows {
    type Item = transactions::ActiveModel;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.shape.transactions {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let row = transaction(&self.shape, &self.specs, self.first_day, i);
        if row.account == 0 && row.date >= self.recent_from {
            self.counts.recent_of_first_account += 1;
        }
        if matches!(row.kind, Kind::Buy) {
            self.counts.buys += 1;
        }
        if row.name.contains(POPULAR_TICKER) {
            self.counts.popular_named += 1;
        }
        let (kind, subtype) = row.kind.type_and_subtype();
        Some(transactions::ActiveModel {
            user_id: Set(self.user_id),
            account_id: Set(self.account_ids[row.account]),
            security_id: Set(row.security.map(|s| self.security_ids[s])),
            plaid_investment_transaction_id: Set(format!("bench-tx-{i:08}")),
            cancel_transaction_id: Set(None),
            date: Set(row.date),
            transaction_datetime: Set(None),
            name: Set(row.name),
            quantity: Set(Numeric(row.quantity)),
            amount: Set(Numeric(row.amount)),
            amount_key: Set(sort_key(row.amount)),
            price: Set(Numeric(row.price)),
            fees: Set(row.fees.map(Numeric)),
            transaction_type: Set(kind.to_owned()),
            subtype: Set(subtype.to_owned()),
            iso_currency_code: Set(Some(row.currency.to_owned())),
            unofficial_currency_code: Set(None),
            cancelled: Set(false),
            cancelled_by: Set(None),
            created_at: Set(self.now),
            updated_at: Set(self.now),
            ..Default::default()
        })
    }
}

/// The fixed time every row was "created" and "updated".
fn stamp() -> DateTime<Utc> {
    DateTime::from_timestamp(1_782_777_600, 0).expect("timestamp")
}

/// Inserts `rows` in multi-row statements of as many rows as [`VALUES_PER_INSERT`] allows,
/// and gives the iterator back (with whatever it counted). A blocking thread builds the
/// statements while the database runs the previous one: on two cores, generating rows
/// and binding values costs about as much as the database's work.
async fn insert_all<E, C, I>(conn: &C, mut rows: I) -> Result<I, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: Send,
    C: ConnectionTrait,
    I: Iterator<Item = E::ActiveModel> + Send + 'static,
{
    let backend = conn.get_database_backend();
    let per_insert = VALUES_PER_INSERT / E::Column::iter().count();
    let (sender, mut statements) = tokio::sync::mpsc::channel::<Statement>(2);
    let producer = tokio::task::spawn_blocking(move || {
        loop {
            let chunk: Vec<E::ActiveModel> = rows.by_ref().take(per_insert).collect();
            if chunk.is_empty()
                || sender
                    .blocking_send(E::insert_many(chunk).build(backend))
                    .is_err()
            {
                return rows;
            }
        }
    });
    while let Some(statement) = statements.recv().await {
        if let Err(e) = conn.execute_raw(statement).await {
            drop(statements);
            let _ = producer.await;
            return Err(e);
        }
    }
    Ok(producer.await.expect("row producer"))
}

/// [`insert_all`] for the small tables, whose rows borrow from the builder.
async fn insert_rows<E, C>(
    conn: &C,
    rows: impl IntoIterator<Item = E::ActiveModel>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::ActiveModel: Send,
    C: ConnectionTrait,
{
    let rows: Vec<E::ActiveModel> = rows.into_iter().collect();
    insert_all::<E, C, _>(conn, rows.into_iter()).await?;
    Ok(())
}

/// Database ids by Plaid id, for the rows just written.
async fn ids_by_plaid_id<E, C>(
    conn: &C,
    plaid_id: E::Column,
    id: E::Column,
    user: E::Column,
    user_id: i64,
) -> Result<HashMap<String, i64>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let rows: Vec<(String, i64)> = E::find()
        .select_only()
        .column(plaid_id)
        .column(id)
        .filter(user.eq(user_id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Writes the dataset of `shape` for a new user `bench` in one database transaction.
pub async fn build(conn: &DatabaseConnection, shape: Shape) -> Result<Dataset, DbErr> {
    let user_id = Unscoped::new(conn)
        .users()
        .find_or_create("bench")
        .await
        .map_err(|e| DbErr::Custom(format!("{e:?}")))?
        .id;
    let (y, m, d) = LAST_DAY;
    let last_day = NaiveDate::from_ymd_opt(y, m, d).expect("date");
    let first_day = last_day - Duration::days(DAYS - 1);
    let recent_from = last_day - Duration::days(90);
    let now = stamp();
    let txn = conn.begin().await?;

    insert_rows::<plaid_items::Entity, _>(
        &txn,
        (0..shape.items).map(|i| plaid_items::ActiveModel {
            user_id: Set(user_id),
            plaid_item_id: Set(format!("bench-item-{i}")),
            institution_id: Set(Some(format!("ins_{}", 100 + i))),
            institution_name: Set(Some(format!("Bench Brokerage {i}"))),
            status: Set("healthy".to_owned()),
            last_success_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }),
    )
    .await?;
    let items = ids_by_plaid_id::<plaid_items::Entity, _>(
        &txn,
        plaid_items::Column::PlaidItemId,
        plaid_items::Column::Id,
        plaid_items::Column::UserId,
        user_id,
    )
    .await?;
    let item_ids: Vec<i64> = (0..shape.items)
        .map(|i| items[&format!("bench-item-{i}")])
        .collect();

    const ACCOUNT_KINDS: [(&str, &str, &str); 5] = [
        ("Brokerage", "investment", "brokerage"),
        ("Roth IRA", "investment", "roth"),
        ("Traditional IRA", "investment", "ira"),
        ("401k", "investment", "401k"),
        ("Crypto", "investment", "crypto exchange"),
    ];
    insert_rows::<accounts::Entity, _>(
        &txn,
        (0..shape.accounts()).map(|a| {
            let (name, kind, subtype) = ACCOUNT_KINDS[a % ACCOUNT_KINDS.len()];
            accounts::ActiveModel {
                user_id: Set(user_id),
                item_id: Set(item_ids[a / shape.accounts_per_item]),
                plaid_account_id: Set(format!("bench-account-{a:03}")),
                name: Set(format!("{name} {a}")),
                mask: Set(Some(format!("{:04}", 1000 + a))),
                account_type: Set(kind.to_owned()),
                subtype: Set(Some(subtype.to_owned())),
                balance_iso_currency_code: Set(Some("USD".to_owned())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        }),
    )
    .await?;
    let accounts = ids_by_plaid_id::<accounts::Entity, _>(
        &txn,
        accounts::Column::PlaidAccountId,
        accounts::Column::Id,
        accounts::Column::UserId,
        user_id,
    )
    .await?;
    let account_ids: Vec<i64> = (0..shape.accounts())
        .map(|a| accounts[&format!("bench-account-{a:03}")])
        .collect();

    let specs: Vec<SecuritySpec> = (0..shape.securities).map(security_spec).collect();
    insert_rows::<securities::Entity, _>(
        &txn,
        specs
            .iter()
            .enumerate()
            .map(|(s, spec)| securities::ActiveModel {
                user_id: Set(user_id),
                plaid_security_id: Set(format!("bench-security-{s:05}")),
                name: Set(Some(spec.name.clone())),
                ticker_symbol: Set(Some(spec.ticker.clone())),
                is_cash_equivalent: Set(Some(s == CASH)),
                security_type: Set(Some(spec.kind.to_owned())),
                close_price: Set(Some(Numeric(dec(spec.price, 2)))),
                close_price_as_of: Set(Some(last_day)),
                iso_currency_code: Set(Some(spec.currency.to_owned())),
                sector: Set(Some(
                    ["Technology", "Finance", "Health Care", "Energy"][s % 4].to_owned(),
                )),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }),
    )
    .await?;
    let securities = ids_by_plaid_id::<securities::Entity, _>(
        &txn,
        securities::Column::PlaidSecurityId,
        securities::Column::Id,
        securities::Column::UserId,
        user_id,
    )
    .await?;
    let security_ids: Vec<i64> = (0..shape.securities)
        .map(|s| securities[&format!("bench-security-{s:05}")])
        .collect();

    // Account `a` holds a window of the universe starting at its own offset: unique
    // (account, security) pairs, and every security held somewhere.
    let stride = shape.securities / shape.accounts();
    let holdings_rows = (0..shape.accounts()).flat_map(|a| {
        (0..shape.holdings_per_account).map(move |j| (a, (a * stride + j) % shape.securities))
    });
    insert_rows::<holdings::Entity, _>(
        &txn,
        holdings_rows.map(|(a, s)| {
            let mut rng = Rng(0x401D ^ ((a as u64) << 32 | s as u64));
            let spec = &specs[s];
            let quantity = dec(1.0 + rng.below(500_000) as f64 / 1000.0, 3);
            let price = dec(spec.price * (0.95 + 0.1 * rng.unit()), 2);
            let value = (quantity * price).round_dp(2);
            holdings::ActiveModel {
                user_id: Set(user_id),
                account_id: Set(account_ids[a]),
                security_id: Set(security_ids[s]),
                quantity: Set(Numeric(quantity)),
                cost_basis: Set(Some(Numeric(
                    (value * dec(0.7 + 0.6 * rng.unit(), 4)).round_dp(2),
                ))),
                institution_price: Set(Numeric(price)),
                institution_price_as_of: Set(Some(last_day)),
                institution_value: Set(Numeric(value)),
                institution_value_key: Set(sort_key(value)),
                quantity_key: Set(sort_key(quantity)),
                iso_currency_code: Set(Some(spec.currency.to_owned())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        }),
    )
    .await?;

    let rows = TransactionRows {
        shape,
        specs,
        account_ids: account_ids.clone(),
        security_ids,
        user_id,
        first_day,
        recent_from,
        now,
        next: 0,
        counts: Counts::default(),
    };
    let counts = insert_all::<transactions::Entity, _, _>(&txn, rows)
        .await?
        .counts;

    txn.commit().await?;
    analyze(conn).await?;
    Ok(Dataset {
        user_id,
        item_ids,
        account_ids,
        holdings: shape.accounts() * shape.holdings_per_account,
        first_item_holdings: shape.accounts_per_item * shape.holdings_per_account,
        last_day,
        recent_of_first_account: counts.recent_of_first_account,
        recent_from,
        buys: counts.buys,
        popular_named: counts.popular_named,
    })
}

/// Planner statistics as a database in service has them. PostgreSQL's autovacuum would
/// analyze (and vacuum: index-only scans need the visibility map) the new rows a little
/// later, so this does it now rather than in the middle of a measurement. SQLite gets
/// nothing: the application never runs `ANALYZE` or `PRAGMA optimize`, so its planner
/// works without statistics in service too.
async fn analyze(conn: &DatabaseConnection) -> Result<(), DbErr> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_unprepared(
            "VACUUM ANALYZE plaid_items, accounts, securities, investment_holdings, \
             investment_transactions",
        )
        .await?;
    }
    Ok(())
}
