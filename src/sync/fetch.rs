//! Reading one item from Plaid: holdings, then every page of transactions for the window.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::plaid::client::{PlaidApi, TransactionsPage};
use crate::plaid::error::PlaidError;
use crate::plaid::types::{
    AccessToken, Account, Holding, InvestmentTransaction, InvestmentsHoldingsGetResponse, Item,
    Security,
};

/// Everything Plaid returned for one item, deduplicated.
#[derive(Debug)]
pub struct Fetched {
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
    pub transactions: Vec<InvestmentTransaction>,
    /// Pages requested (restarts included).
    pub pages: u32,
    /// True when the last walk through the pages saw the same total from first to last
    /// page: only then is a stored row missing from the window known to have vanished.
    pub stable: bool,
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

/// Holdings first (with the securities and accounts they carry), then the transactions of
/// the window page by page. Pagination stops at `total_investment_transactions`, on an
/// empty page, or on a page that repeats the previous one; if the total changes midway
/// (rows arrived and shifted the offsets), the window is walked again, up to
/// [`MAX_WALKS`] times, and the result says whether the last walk was stable.
pub async fn fetch(
    plaid: &dyn PlaidApi,
    plan: &FetchPlan,
    on_page: OnPage<'_>,
) -> Result<Fetched, PlaidError> {
    let holdings_answer = match plaid
        .investments_holdings_get(&plan.access_token, None)
        .await
    {
        Err(err) if err.code() == NO_INVESTMENT_ACCOUNTS => {
            return Ok(Fetched {
                item: None,
                accounts: HashMap::new(),
                holdings_accounts: HashSet::new(),
                transaction_accounts: HashSet::new(),
                securities: HashMap::new(),
                holdings: Vec::new(),
                transactions: Vec::new(),
                pages: 0,
                stable: true,
            });
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
    let mut fetched = Fetched {
        item: Some(item),
        holdings_accounts: accounts.iter().map(|a| a.account_id.clone()).collect(),
        accounts: HashMap::new(),
        transaction_accounts: HashSet::new(),
        securities: HashMap::new(),
        holdings,
        transactions: Vec::new(),
        pages: 0,
        stable: false,
    };
    merge_accounts(&mut fetched.accounts, accounts);
    merge_securities(&mut fetched.securities, securities);

    let mut walks = 0;
    'window: loop {
        walks += 1;
        let mut seen = HashSet::new();
        let mut transactions = Vec::new();
        let mut offset = 0i64;
        let mut total: Option<i64> = None;
        let mut previous_ids: Vec<String> = Vec::new();
        let mut stable = true;
        loop {
            let page = plaid
                .investments_transactions_get(&TransactionsPage {
                    access_token: plan.access_token.clone(),
                    start_date: plan.start,
                    end_date: plan.end,
                    account_ids: None,
                    count: plan.page_size,
                    offset,
                    first_sync: plan.first_sync && fetched.pages == 0,
                })
                .await?;
            fetched.pages += 1;
            match total {
                Some(t) if t != page.total_investment_transactions => {
                    tracing::info!(
                        from = t,
                        to = page.total_investment_transactions,
                        walk = walks,
                        "transaction total changed during pagination"
                    );
                    if walks < MAX_WALKS {
                        continue 'window;
                    }
                    stable = false;
                    total = Some(page.total_investment_transactions);
                }
                _ => total = Some(page.total_investment_transactions),
            }
            let size = plan.page_size.max(1);
            let pages = (page.total_investment_transactions + size - 1) / size;
            on_page(
                fetched.pages,
                u32::try_from(pages.max(1)).unwrap_or(u32::MAX),
            );
            fetched
                .transaction_accounts
                .extend(page.accounts.iter().map(|a| a.account_id.clone()));
            merge_accounts(&mut fetched.accounts, page.accounts);
            merge_securities(&mut fetched.securities, page.securities);
            let ids: Vec<String> = page
                .investment_transactions
                .iter()
                .map(|t| t.investment_transaction_id.clone())
                .collect();
            if ids.is_empty() || ids == previous_ids {
                break;
            }
            offset += ids.len() as i64;
            for transaction in page.investment_transactions {
                if seen.insert(transaction.investment_transaction_id.clone()) {
                    transactions.push(transaction);
                }
            }
            previous_ids = ids;
            if offset >= total.unwrap_or(0) {
                break;
            }
        }
        fetched.transactions = transactions;
        fetched.stable = stable;
        return Ok(fetched);
    }
}
