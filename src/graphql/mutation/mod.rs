//! The `Mutation` root. Every mutation needs a `write` token (checked once, for the whole
//! operation, by `extensions::MutationScope`), takes one `input` and returns a payload
//! (Relay style). Mutations run one after another; one that fails nulls `data` with its
//! error, and the ones before it have already happened.

mod items;
mod tokens;

use async_graphql::MergedObject;

/// The entry points for changes. Every mutation needs a `write` token.
#[derive(MergedObject, Default)]
pub struct Mutation(items::ItemMutations, tokens::TokenMutations);
