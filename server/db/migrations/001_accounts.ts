// Merchants, their API keys, idempotency records, and per-database settings.
// Same schema on SQLite and PostgreSQL: schema builder only, text ids,
// integer unix seconds.
import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("merchants", (t) => {
    t.text("id").primary(); // acct_…
    t.text("name").notNullable();
    t.boolean("active").notNullable().defaultTo(true);
    // JSON {"default": n, "payment_creation": n}: requests per minute overriding the API design's limits.
    t.text("rate_limits").nullable();
    t.integer("created").notNullable();
  });

  await knex.schema.createTable("api_keys", (t) => {
    t.text("id").primary(); // key_…
    t.text("merchant_id").notNullable().references("id").inTable("merchants");
    t.text("kind").notNullable(); // pk | sk
    t.boolean("livemode").notNullable();
    // First 12 characters (e.g. `sk_test_Ab3x`): enough to tell keys apart in lists and logs, useless to an attacker.
    t.text("prefix").notNullable();
    // sha256 of the full key, hex. The raw key is never stored.
    t.text("key_hash").notNullable().unique();
    t.integer("created").notNullable();
    t.integer("revoked_at").nullable();
    t.index(["merchant_id"]);
  });

  await knex.schema.createTable("idempotency_keys", (t) => {
    t.text("merchant_id").notNullable();
    t.boolean("livemode").notNullable();
    t.text("key").notNullable(); // `sk:` or `pk:` (the API key type: separate key spaces), then the client's key
    t.text("method").notNullable();
    // HMAC-SHA256 of the request bytes (card CVC removed) under a deployment key: the same key with other parameters is refused.
    t.text("request_hash").notNullable();
    t.text("state").notNullable(); // in_flight | applied (its changes committed) | done
    // Random token of the claim: only the request that holds it may complete it.
    t.text("claim").notNullable();
    t.integer("response_code").nullable();
    t.text("response_message").nullable();
    t.binary("response").nullable();
    t.binary("status_details").nullable();
    t.text("error").nullable(); // the decoded ErrorDetail as JSON, which the gateway reads
    t.text("headers").nullable(); // JSON
    t.integer("created").notNullable();
    // in_flight: when the claim is considered abandoned; done: end of the 24 h replay window.
    t.integer("expires").notNullable();
    // The claim: a second INSERT of the same key fails on this primary key, in any process.
    t.primary(["merchant_id", "livemode", "key"]);
    t.index(["expires"]);
  });

  await knex.schema.createTable("settings", (t) => {
    t.text("name").primary();
    t.text("value").notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("settings");
  await knex.schema.dropTable("idempotency_keys");
  await knex.schema.dropTable("api_keys");
  await knex.schema.dropTable("merchants");
}
