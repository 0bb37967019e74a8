//! Test data, built as Plaid would send it and written through the sync's own row
//! builders and the data layer's upserts, so fixtures store exactly what a sync stores.

use chrono::{NaiveDate, Utc};
use investments::db::entities::{
    accounts, investment_holdings as holdings, investment_transactions as transactions,
    plaid_items, securities,
};
use investments::db::items::NewItem;
use investments::db::unscoped::Unscoped;
use investments::graphql::ids::{self, NodeKind};
use investments::plaid::types as wire;
use investments::sync::rows;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

use crate::common::TestApp;

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("bad decimal {s}"))
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

pub fn gid(kind: NodeKind, id: i64) -> String {
    ids::encode(kind, id).to_string()
}

/// Writes rows for one user.
pub struct Fixture<'a> {
    pub app: &'a TestApp,
    pub user_id: i64,
}

/// A security to create.
pub struct SecuritySpec<'s> {
    pub key: &'s str,
    pub name: Option<&'s str>,
    pub ticker: Option<&'s str>,
    pub security_type: Option<&'s str>,
    pub iso_currency: Option<&'s str>,
    pub unofficial_currency: Option<&'s str>,
}

impl<'s> SecuritySpec<'s> {
    /// A security quoted in US dollars.
    pub fn usd(
        key: &'s str,
        name: Option<&'s str>,
        ticker: Option<&'s str>,
        security_type: &'s str,
    ) -> Self {
        SecuritySpec {
            key,
            name,
            ticker,
            security_type: Some(security_type),
            iso_currency: Some("USD"),
            unofficial_currency: None,
        }
    }
}

/// A transaction to create; `key` makes its Plaid id unique per user.
pub struct TxSpec<'s> {
    pub key: String,
    pub account: &'s accounts::Model,
    pub security: Option<&'s securities::Model>,
    pub date: &'s str,
    pub name: &'s str,
    pub transaction_type: &'s str,
    pub subtype: &'s str,
    pub amount: &'s str,
    pub quantity: &'s str,
}

impl<'s> TxSpec<'s> {
    /// A cash deposit of `amount`, without a security or a quantity: change the fields
    /// that differ with `TxSpec { .., ..TxSpec::deposit(..) }`.
    pub fn deposit(
        key: String,
        account: &'s accounts::Model,
        date: &'s str,
        name: &'s str,
        amount: &'s str,
    ) -> Self {
        TxSpec {
            key,
            account,
            security: None,
            date,
            name,
            transaction_type: "cash",
            subtype: "deposit",
            amount,
            quantity: "0",
        }
    }
}

/// What a data-layer write returned, or a panic naming `what`.
fn written<T>(result: investments::error::ApiResult<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {}", e.message()))
}

/// The one row `select` finds: the `what` just written.
async fn stored<E: EntityTrait>(app: &TestApp, select: Select<E>, what: &str) -> E::Model {
    select
        .one(&app.db)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("{what} stored"))
}

impl<'a> Fixture<'a> {
    pub fn new(app: &'a TestApp, user_id: i64) -> Self {
        Fixture { app, user_id }
    }

    /// The sync's own handle: fixtures write as a sync does.
    fn db(&self) -> Unscoped<'a, sea_orm::DatabaseConnection> {
        Unscoped::new(&self.app.db)
    }

    fn plaid_id(&self, key: &str) -> String {
        format!("u{}-{key}", self.user_id)
    }

    pub async fn item(&self, key: &str, institution_id: &str, name: &str) -> plaid_items::Model {
        self.db()
            .items()
            .create(
                NewItem {
                    user_id: self.user_id,
                    plaid_item_id: self.plaid_id(key),
                    institution_id: Some(institution_id.to_owned()),
                    institution_name: Some(name.to_owned()),
                    access_token_ciphertext: None,
                    webhook: None,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap_or_else(|e| panic!("item: {}", e.message()))
    }

    pub async fn account(
        &self,
        item: &plaid_items::Model,
        key: &str,
        name: &str,
        account_type: &str,
        subtype: &str,
    ) -> accounts::Model {
        let plaid_id = self.plaid_id(key);
        let now = Utc::now();
        let result = self
            .db()
            .accounts()
            .upsert(vec![rows::account_row(
                now,
                self.user_id,
                item.id,
                &wire::Account {
                    account_id: plaid_id.clone(),
                    name: name.to_owned(),
                    mask: Some("0000".to_owned()),
                    account_type: account_type.to_owned(),
                    subtype: Some(subtype.to_owned()),
                    balances: wire::AccountBalances {
                        current: Some(dec("100.00")),
                        iso_currency_code: Some("USD".to_owned()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )])
            .await;
        written(result, "account");
        let select = accounts::Entity::find().filter(accounts::Column::PlaidAccountId.eq(plaid_id));
        stored(self.app, select, "account").await
    }

    /// An item `item` at `institution` with one brokerage account `acc`, "Brokerage".
    pub async fn brokerage(
        &self,
        institution_id: &str,
        institution_name: &str,
    ) -> (plaid_items::Model, accounts::Model) {
        let item = self.item("item", institution_id, institution_name).await;
        let account = self
            .account(&item, "acc", "Brokerage", "investment", "brokerage")
            .await;
        (item, account)
    }

    pub async fn security(&self, spec: SecuritySpec<'_>) -> securities::Model {
        let plaid_id = self.plaid_id(spec.key);
        let now = Utc::now();
        let result = self
            .db()
            .securities()
            .upsert(vec![rows::security_row(
                now,
                self.user_id,
                &wire::Security {
                    name: spec.name.map(str::to_owned),
                    ticker_symbol: spec.ticker.map(str::to_owned),
                    is_cash_equivalent: Some(spec.security_type == Some("cash")),
                    security_type: spec.security_type.map(str::to_owned),
                    close_price: Some(dec("1.5")),
                    close_price_as_of: Some(date("2024-05-30")),
                    unofficial_currency_code: spec.unofficial_currency.map(str::to_owned),
                    ..wire::Security::bare(&plaid_id, spec.iso_currency.map(str::to_owned))
                },
            )])
            .await;
        written(result, "security");
        let select =
            securities::Entity::find().filter(securities::Column::PlaidSecurityId.eq(plaid_id));
        stored(self.app, select, "security").await
    }

    /// A position; `cost_basis` `None` for institutions that report none.
    pub async fn holding(
        &self,
        account: &accounts::Model,
        security: &securities::Model,
        quantity: &str,
        value: &str,
        cost_basis: Option<&str>,
    ) -> holdings::Model {
        self.holding_at(account, security, quantity, "1", value, cost_basis)
            .await
    }

    /// A position at a given institution price (`0` when the institution has none).
    pub async fn holding_at(
        &self,
        account: &accounts::Model,
        security: &securities::Model,
        quantity: &str,
        price: &str,
        value: &str,
        cost_basis: Option<&str>,
    ) -> holdings::Model {
        let now = Utc::now();
        let result = self
            .db()
            .holdings()
            .upsert(vec![rows::holding_row(
                now,
                self.user_id,
                account.id,
                security.id,
                &Self::wire_holding(account, security, [quantity, price, value], cost_basis),
            )])
            .await;
        written(result, "holding");
        let select = holdings::Entity::find()
            .filter(holdings::Column::AccountId.eq(account.id))
            .filter(holdings::Column::SecurityId.eq(security.id));
        stored(self.app, select, "holding").await
    }

    /// The snapshot of one position on one day, as a sync writes it.
    #[allow(clippy::too_many_arguments)]
    pub async fn snapshot(
        &self,
        account: &accounts::Model,
        security: &securities::Model,
        as_of: &str,
        quantity: &str,
        price: &str,
        value: &str,
        cost_basis: Option<&str>,
        close_price: Option<&str>,
    ) {
        self.db()
            .snapshots()
            .upsert(vec![rows::snapshot_row(
                Utc::now(),
                self.user_id,
                account.id,
                security.id,
                date(as_of),
                &Self::wire_holding(account, security, [quantity, price, value], cost_basis),
                close_price.map(dec),
            )])
            .await
            .unwrap_or_else(|e| panic!("snapshot: {}", e.message()));
    }

    /// Flags the transaction with this key as cancelled, as a sync does.
    pub async fn cancel(&self, key: &str) {
        let row = transactions::Entity::find()
            .filter(transactions::Column::PlaidInvestmentTransactionId.eq(self.plaid_id(key)))
            .one(&self.app.db)
            .await
            .expect("query")
            .expect("transaction stored");
        self.db()
            .transactions()
            .mark_cancelled(&[row.id], None, chrono::Utc::now())
            .await
            .unwrap_or_else(|e| panic!("cancel: {}", e.message()));
        self.db()
            .users()
            .bump_data_version(self.user_id)
            .await
            .unwrap_or_else(|e| panic!("data version: {}", e.message()));
    }

    fn transaction_row(&self, t: &TxSpec<'_>) -> transactions::ActiveModel {
        let wire = wire::InvestmentTransaction {
            investment_transaction_id: self.plaid_id(&t.key),
            account_id: t.account.plaid_account_id.clone(),
            security_id: t.security.map(|s| s.plaid_security_id.clone()),
            date: date(t.date),
            name: t.name.to_owned(),
            quantity: dec(t.quantity),
            amount: dec(t.amount),
            price: dec("1"),
            fees: Some(dec("0")),
            transaction_type: t.transaction_type.to_owned(),
            subtype: t.subtype.to_owned(),
            iso_currency_code: Some("USD".to_owned()),
            ..Default::default()
        };
        rows::transaction_row(
            Utc::now(),
            self.user_id,
            t.account.id,
            t.security.map(|s| s.id),
            &wire,
        )
    }

    /// Plaid's view of a position, for the holding and snapshot rows: `figures` are its
    /// quantity, institution price and institution value.
    fn wire_holding(
        account: &accounts::Model,
        security: &securities::Model,
        figures: [&str; 3],
        cost_basis: Option<&str>,
    ) -> wire::Holding {
        let [quantity, price, value] = figures.map(dec);
        wire::Holding {
            account_id: account.plaid_account_id.clone(),
            security_id: security.plaid_security_id.clone(),
            quantity,
            cost_basis: cost_basis.map(dec),
            institution_price: price,
            institution_price_as_of: Some(date("2024-05-31")),
            institution_value: value,
            iso_currency_code: security.iso_currency_code.clone(),
            unofficial_currency_code: security.unofficial_currency_code.clone(),
            ..Default::default()
        }
    }

    /// Writes the transactions in bulk.
    pub async fn transactions(&self, specs: &[TxSpec<'_>]) {
        let rows = specs.iter().map(|t| self.transaction_row(t)).collect();
        self.db()
            .transactions()
            .upsert(rows)
            .await
            .unwrap_or_else(|e| panic!("transactions: {}", e.message()));
    }
}

/// A small two-institution portfolio used across tests.
pub struct Standard {
    pub item_a: plaid_items::Model,
    pub item_b: plaid_items::Model,
    pub brokerage: accounts::Model,
    pub ira: accounts::Model,
    pub k401: accounts::Model,
    pub crypto: accounts::Model,
    pub aapl: securities::Model,
    pub vti: securities::Model,
    pub fund: securities::Model,
    pub cash: securities::Model,
    pub btc: securities::Model,
}

pub const STANDARD_TRANSACTIONS: usize = 12;

impl Standard {
    pub async fn seed(app: &TestApp, user_id: i64) -> Standard {
        let f = Fixture::new(app, user_id);
        let item_a = f.item("item-a", "ins_109508", "First Platypus Bank").await;
        let item_b = f.item("item-b", "ins_109511", "Tartan Bank").await;
        let brokerage = f
            .account(
                &item_a,
                "acc-brokerage",
                "Brokerage",
                "investment",
                "brokerage",
            )
            .await;
        let ira = f
            .account(&item_a, "acc-ira", "Plaid IRA", "investment", "ira")
            .await;
        let k401 = f
            .account(&item_b, "acc-401k", "Plaid 401k", "investment", "401k")
            .await;
        let crypto = f
            .account(
                &item_b,
                "acc-crypto",
                "Crypto Exchange",
                "investment",
                "crypto exchange",
            )
            .await;
        let usd = SecuritySpec::usd;
        let aapl = f
            .security(usd("sec-aapl", Some("Apple Inc."), Some("AAPL"), "equity"))
            .await;
        let vti = f
            .security(usd(
                "sec-vti",
                Some("Vanguard Total Stock Market ETF"),
                Some("VTI"),
                "etf",
            ))
            .await;
        let fund = f
            .security(usd(
                "sec-fund",
                Some("Matthews Pacific Tiger Fund"),
                None,
                "mutual fund",
            ))
            .await;
        let cash = f
            .security(usd("sec-cash", Some("U S Dollar"), Some("CUR:USD"), "cash"))
            .await;
        let btc = f
            .security(SecuritySpec {
                key: "sec-btc",
                name: Some("Bitcoin"),
                ticker: Some("BTC"),
                security_type: Some("cryptocurrency"),
                iso_currency: None,
                unofficial_currency: Some("BTC"),
            })
            .await;

        f.holding(&brokerage, &aapl, "10", "1900.50", Some("1500"))
            .await;
        f.holding(&brokerage, &vti, "5.5", "1200.25", None).await;
        f.holding(&ira, &fund, "100", "10", Some("12.5")).await;
        f.holding(&k401, &cash, "9.5", "9.5", Some("9.5")).await;
        f.holding(&crypto, &btc, "0.00293644", "0.00293644", Some("0.002"))
            .await;

        let tx = |key: &str, account, security, date, name, ty, sub, amount, qty| TxSpec {
            key: key.to_owned(),
            account,
            security,
            date,
            name,
            transaction_type: ty,
            subtype: sub,
            amount,
            quantity: qty,
        };
        f.transactions(&[
            tx(
                "t01",
                &brokerage,
                Some(&aapl),
                "2024-01-02",
                "BUY Apple Inc.",
                "buy",
                "buy",
                "1500",
                "10",
            ),
            tx(
                "t02",
                &brokerage,
                Some(&vti),
                "2024-01-15",
                "BUY Vanguard ETF",
                "buy",
                "buy",
                "1000.75",
                "5.5",
            ),
            tx(
                "t03",
                &brokerage,
                Some(&aapl),
                "2024-02-09",
                "DIVIDEND Apple Inc.",
                "cash",
                "dividend",
                "-9.5",
                "0",
            ),
            tx(
                "t04",
                &brokerage,
                None,
                "2024-02-20",
                "Monthly account fee",
                "fee",
                "account fee",
                "10",
                "0",
            ),
            tx(
                "t05",
                &ira,
                Some(&fund),
                "2024-03-01",
                "Contribution to IRA",
                "cash",
                "contribution",
                "-2",
                "0",
            ),
            tx(
                "t06",
                &ira,
                Some(&fund),
                "2024-03-04",
                "BUY Matthews Pacific Tiger",
                "buy",
                "buy",
                "12.5",
                "100",
            ),
            tx(
                "t07",
                &k401,
                Some(&cash),
                "2024-03-15",
                "Deposit",
                "cash",
                "deposit",
                "-100",
                "0",
            ),
            tx(
                "t08",
                &k401,
                None,
                "2024-04-01",
                "Interest",
                "cash",
                "interest",
                "-0.01",
                "0",
            ),
            tx(
                "t09",
                &crypto,
                Some(&btc),
                "2024-04-10",
                "BUY Bitcoin",
                "buy",
                "buy",
                "250",
                "0.00293644",
            ),
            tx(
                "t10",
                &crypto,
                Some(&btc),
                "2024-05-01",
                "SELL Bitcoin part",
                "sell",
                "sell",
                "-99.99",
                "-0.001",
            ),
            tx(
                "t11",
                &brokerage,
                Some(&aapl),
                "2024-05-10",
                "Tax withheld on dividend",
                "cash",
                "tax withheld",
                "1.25",
                "0",
            ),
            tx(
                "t12",
                &brokerage,
                Some(&vti),
                "2024-05-31",
                "Transfer in VTI",
                "transfer",
                "transfer",
                "0",
                "1",
            ),
        ])
        .await;

        Standard {
            item_a,
            item_b,
            brokerage,
            ira,
            k401,
            crypto,
            aapl,
            vti,
            fund,
            cash,
            btc,
        }
    }
}
