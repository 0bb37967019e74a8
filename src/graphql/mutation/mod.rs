//! The `Mutation` root. Every mutation needs a `write` token (checked once, for the whole
//! operation, by `extensions::MutationScope`), takes one `input` and returns a payload
//! (Relay style); fields are nullable so that one failing mutation does not null the rest.

mod items;
mod tokens;

use async_graphql::MergedObject;

/// The entry points for changes. Every mutation needs a `write` token.
#[derive(MergedObject, Default)]
pub struct Mutation(items::ItemMutations, tokens::TokenMutations);
