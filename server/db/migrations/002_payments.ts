// Customers, payment methods, payment intents, charges and refunds. Same
// schema on SQLite and PostgreSQL: schema builder only, text ids, integer
// unix seconds, JSON as text. Every table has `seq`, an auto-increment that
// orders objects by creation for cursor pagination (stable under equal
// `created` seconds), and every query is scoped by (merchant_id, livemode).
// No card number or CVC has a column: only brand, last4, expiry,
// fingerprint, funding, country and the test-mode simulator behaviour.
import type { Knex } from "knex";

/** Creates the payments tables. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("customers", (t) => {
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.text("email").nullable();
    t.text("name").nullable();
    t.text("phone").nullable();
    t.text("description").nullable();
    t.text("address").nullable(); // JSON
    t.text("metadata").notNullable(); // JSON
    t.boolean("deleted").notNullable().defaultTo(false);
    t.integer("created").notNullable();
    t.index(["merchant_id", "livemode", "seq"]);
  });

  await knex.schema.createTable("payment_methods", (t) => {
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.string("type", 20).notNullable();
    t.string("brand", 20).notNullable();
    t.string("last4", 4).notNullable();
    t.integer("exp_month").notNullable();
    t.integer("exp_year").notNullable();
    t.string("fingerprint", 32).notNullable();
    t.string("funding", 20).notNullable();
    t.string("country", 2).notNullable();
    // Test mode only: what the simulator does with this card (derived from the number at creation).
    t.string("test_behavior", 32).nullable();
    t.text("billing_details").nullable(); // JSON
    t.text("metadata").notNullable(); // JSON
    t.string("customer", 40).nullable();
    t.integer("created").notNullable();
    t.index(["merchant_id", "livemode", "customer", "seq"]);
  });

  await knex.schema.createTable("payment_intents", (t) => {
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.integer("amount").notNullable();
    t.string("currency", 3).notNullable();
    t.string("status", 32).notNullable();
    // Bumped by every change: writers guard on it, so of two concurrent changes one wins.
    t.integer("version").notNullable().defaultTo(0);
    t.text("description").nullable();
    t.text("metadata").notNullable(); // JSON
    t.text("payment_method_types").notNullable(); // JSON array
    t.string("capture_method", 16).notNullable();
    t.string("confirmation_method", 16).notNullable();
    t.string("customer_id", 40).nullable();
    t.string("payment_method", 40).nullable();
    t.integer("amount_received").notNullable().defaultTo(0);
    t.integer("amount_capturable").notNullable().defaultTo(0);
    t.text("last_payment_error").nullable(); // JSON ErrorDetail
    t.text("return_url").nullable();
    t.string("cancellation_reason", 32).nullable();
    t.integer("canceled_at").nullable();
    t.string("latest_charge", 40).nullable();
    t.integer("created").notNullable();
    t.index(["merchant_id", "livemode", "seq"]);
    t.index(["merchant_id", "livemode", "customer_id", "seq"]);
  });

  await knex.schema.createTable("charges", (t) => {
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.string("payment_intent", 40).notNullable();
    t.integer("amount").notNullable();
    t.integer("amount_captured").notNullable().defaultTo(0);
    t.integer("amount_refunded").notNullable().defaultTo(0);
    t.string("currency", 3).notNullable();
    t.string("status", 16).notNullable();
    t.boolean("captured").notNullable().defaultTo(false);
    t.boolean("refunded").notNullable().defaultTo(false);
    t.boolean("disputed").notNullable().defaultTo(false);
    // The payment method as it was when charged (JSON ChargePaymentMethod: id, type, card facts).
    t.text("payment_method").notNullable();
    t.string("failure_code", 64).nullable();
    t.text("failure_message").nullable();
    t.string("decline_code", 64).nullable();
    t.string("customer", 40).nullable();
    t.text("description").nullable();
    t.integer("created").notNullable();
    t.index(["merchant_id", "livemode", "seq"]);
    t.index(["payment_intent", "seq"]);
    t.index(["merchant_id", "livemode", "customer", "seq"]);
  });

  await knex.schema.createTable("refunds", (t) => {
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.string("charge", 40).notNullable();
    t.string("payment_intent", 40).notNullable();
    t.integer("amount").notNullable();
    t.string("currency", 3).notNullable();
    t.string("reason", 32).nullable();
    t.string("status", 16).notNullable();
    t.text("metadata").notNullable(); // JSON
    t.integer("created").notNullable();
    t.index(["merchant_id", "livemode", "seq"]);
    t.index(["charge", "seq"]);
    t.index(["payment_intent", "seq"]);
  });
}

/** Drops the payments tables. */
export async function down(knex: Knex): Promise<void> {
  for (const table of ["refunds", "charges", "payment_intents", "payment_methods", "customers"]) {
    await knex.schema.dropTableIfExists(table);
  }
}
