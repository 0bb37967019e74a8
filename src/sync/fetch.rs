//! Reading one item from Plaid: holdings, then the transactions of the window page by
//! page, handed out in chunks so that a sync never holds the whole window in memory.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::plaid::client::{PlaidApi, TransactionsPage};
use crate::plaid::error::PlaidError;
use crate::plaid::types::{
    AccessToken, Account, Holding, InvestmentTransaction, InvestmentsHoldingsGetResponse, Item,
    Security,
};

/// What Plaid answered for one item so far: the holdings answer, the accounts and
/// securities of every page read, and where the walk through the transaction pages stands.
/// Transactions themselves are not kept here, only their ids (for the vanished check).
#[derive(Clone, Debug)]
pub struct Answer {
    /// Plaid's view of the item; `None` when it has no investment accounts at all
    /// (`NO_INVESTMENT_ACCOUNTS`), which is an empty, healthy item.
    pub item: Option<Item>,
    /// Accounts by Plaid id, from both endpoints.
    pub accounts: HashMap<String, Account>,
    /// Accounts whose holdings the holdings response is the full picture of.
    pub holdings_accounts: HashSet<String>,
    /// Accounts whose transactions the transaction pages covered.
    pub transaction_accounts: HashSet<String>,
    pub securities: HashMap<String, Security>,
    pub holdings: Vec<Holding>,
    /// Pages requested (restarts included).
    pub pages: u32,
    /// Pages the current walk takes by Plaid's latest total.
    pub pages_expected: u32,
    /// True when the last walk through the pages saw the same total from first to last
    /// page: only then is a stored row missing from the window known to have vanished.
    pub stable: bool,
    /// Ids of the transactions the current walk has handed out.
    pub seen: HashSet<String>,
    walk: Walk,
}

/// The position of the current walk through the window's pages.
#[derive(Clone, Debug, Default)]
struct Walk {
    /// Walks started, this one included.
    number: u32,
    offset: i64,
    total: Option<i64>,
    previous_ids: Vec<String>,
    done: bool,
}

/// What the next pages brought.
#[derive(Debug)]
pub enum Chunk {
    /// Transactions not handed out before in this walk, in Plaid's order.
    Rows(Vec<InvestmentTransaction>),
    /// The total changed midway: the window is walked again from its first page, and
    /// every row handed out by the abandoned walk is to be forgotten.
    Restarted,
}

/// Walks through the pages at most this many times while the total keeps changing.
pub const MAX_WALKS: u32 = 3;

/// Plaid's answer for an item without any investment account.
const NO_INVESTMENT_ACCOUNTS: &str = "NO_INVESTMENT_ACCOUNTS";

/// Told after each page of transactions: pages read so far, and the pages the window
/// takes by Plaid's total.
pub type OnPage<'a> = &'a (dyn Fn(u32, u32) + Send + Sync);

pub struct FetchPlan {
    pub access_token: AccessToken,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub page_size: i64,
    pub first_sync: bool,
}

fn merge_accounts(into: &mut HashMap<String, Account>, accounts: Vec<Account>) {
    for account in accounts {
        into.entry(account.account_id.clone()).or_insert(account);
    }
}

fn merge_securities(into: &mut HashMap<String, Security>, securities: Vec<Security>) {
    for security in securities {
        into.insert(security.security_id.clone(), security);
    }
}

/// Reads the holdings (with the securities and accounts they carry); the transaction
/// pages follow through [`Answer::next_chunk`].
pub async fn start(plaid: &dyn PlaidApi, plan: &FetchPlan) -> Result<Answer, PlaidError> {
    let mut answer = Answer {
        item: None,
        accounts: HashMap::new(),
        holdings_accounts: HashSet::new(),
        transaction_accounts: HashSet::new(),
        securities: HashMap::new(),
        holdings: Vec::new(),
        pages: 0,
        pages_expected: 0,
        stable: true,
        seen: HashSet::new(),
        walk: Walk {
            number: 1,
            ..Walk::default()
        },
    };
    let holdings_answer = match plaid
        .investments_holdings_get(&plan.access_token, None)
        .await
    {
        Err(err) if err.code() == NO_INVESTMENT_ACCOUNTS => {
            answer.walk.done = true;
            return Ok(answer);
        }
        answer => answer?,
    };
    let InvestmentsHoldingsGetResponse {
        accounts,
        holdings,
        securities,
        item,
        ..
    } = holdings_answer;
    answer.item = Some(item);
    answer.holdings_accounts = accounts.iter().map(|a| a.account_id.clone()).collect();
    answer.holdings = holdings;
    merge_accounts(&mut answer.accounts, accounts);
    merge_securities(&mut answer.securities, securities);
    Ok(answer)
}

impl Answer {
    /// True once the last page of the window was read.
    pub fn done(&self) -> bool {
        self.walk.done
    }

    /// Reads pages until at least `rows` new transactions came, the window ends, or the
    /// walk restarts; `None` once the window was read.
    ///
    /// Pagination stops at `total_investment_transactions`, on an empty page, or on a page
    /// that repeats the previous one; if the total changes midway (rows arrived and
    /// shifted the offsets), the window is walked again, up to [`MAX_WALKS`] times, and
    /// [`Answer::stable`] says whether the last walk kept one total throughout.
    pub async fn next_chunk(
        &mut self,
        plaid: &dyn PlaidApi,
        plan: &FetchPlan,
        on_page: OnPage<'_>,
        rows: usize,
    ) -> Result<Option<Chunk>, PlaidError> {
        if self.walk.done {
            return Ok(None);
        }
        let mut chunk = Vec::new();
        while !self.walk.done && chunk.len() < rows {
            let page = plaid
                .investments_transactions_get(&TransactionsPage {
                    access_token: plan.access_token.clone(),
                    start_date: plan.start,
                    end_date: plan.end,
                    account_ids: None,
                    count: plan.page_size,
                    offset: self.walk.offset,
                    first_sync: plan.first_sync && self.pages == 0,
                })
                .await?;
            self.pages += 1;
            let total = page.total_investment_transactions;
            if let Some(t) = self.walk.total.filter(|t| *t != total) {
                tracing::info!(
                    from = t,
                    to = total,
                    walk = self.walk.number,
                    "transaction total changed during pagination"
                );
                if self.walk.number < MAX_WALKS {
                    self.walk = Walk {
                        number: self.walk.number + 1,
                        ..Walk::default()
                    };
                    self.seen.clear();
                    self.stable = true;
                    return Ok(Some(Chunk::Restarted));
                }
                self.stable = false;
            }
            self.walk.total = Some(total);
            let size = plan.page_size.max(1);
            self.pages_expected =
                u32::try_from(((total + size - 1) / size).max(1)).unwrap_or(u32::MAX);
            on_page(self.pages, self.pages_expected);
            self.transaction_accounts
                .extend(page.accounts.iter().map(|a| a.account_id.clone()));
            merge_accounts(&mut self.accounts, page.accounts);
            merge_securities(&mut self.securities, page.securities);
            let ids: Vec<String> = page
                .investment_transactions
                .iter()
                .map(|t| t.investment_transaction_id.clone())
                .collect();
            if ids.is_empty() || ids == self.walk.previous_ids {
                self.walk.done = true;
                break;
            }
            self.walk.offset += ids.len() as i64;
            for transaction in page.investment_transactions {
                if self
                    .seen
                    .insert(transaction.investment_transaction_id.clone())
                {
                    chunk.push(transaction);
                }
            }
            self.walk.previous_ids = ids;
            if self.walk.offset >= total {
                self.walk.done = true;
            }
        }
        Ok(Some(Chunk::Rows(chunk)))
    }
}
