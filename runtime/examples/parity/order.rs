//! What both binaries of the parity bench (`benches/parity.rs`) handle: an order, and the work a
//! handler does with it (touching all of it, as a real handler would).

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub customer: String,
    pub email: String,
    pub items: Vec<Item>,
}

#[derive(Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub description: String,
    pub quantity: u32,
    pub price_cents: u64,
}

pub fn handle(order: &Order) -> u64 {
    order
        .items
        .iter()
        .map(|i| u64::from(i.quantity) * i.price_cents)
        .sum::<u64>()
        + order.email.len() as u64
}
