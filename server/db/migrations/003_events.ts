// Events (the outbox) and webhook endpoints, deliveries and attempts.
// Times the API shows are integer unix seconds; the delivery scheduler's own
// clocks (`*_ms`) are unix milliseconds, because test-mode retry schedules
// and leases are shorter than a second can express well.
import type { Knex } from "knex";

/** Creates the events and webhook tables. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("events", (t) => {
    // The commit/stream order. recordEvent serializes a merchant's event
    // writes (see server/events/outbox.ts), so within one merchant a larger
    // seq is always committed after a smaller one.
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.string("type", 80).notNullable();
    t.integer("created").notNullable();
    /** The object (canonical JSON text) as the API returned it. */
    t.text("data").notNullable();
    t.string("request_id", 64);
    t.string("idempotency_key", 255);
    /** Deliveries of this event that have not succeeded (kept in step by the worker). */
    t.integer("pending_webhooks").notNullable().defaultTo(0);
    t.index(["merchant_id", "livemode", "seq"], "events_scope_seq");
    t.index(["merchant_id", "livemode", "type", "seq"], "events_scope_type_seq");
    t.index(["created"], "events_created");
  });

  await knex.schema.createTable("webhook_endpoints", (t) => {
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.text("url").notNullable();
    /** JSON array of event types, `["*"]` for all. */
    t.text("enabled_events").notNullable();
    t.text("description");
    t.boolean("disabled").notNullable().defaultTo(false);
    /** JSON object. */
    t.text("metadata").notNullable().defaultTo("{}");
    /** The signing secret, AES-256-GCM encrypted (server/webhooks/secrets.ts). */
    t.text("secret_enc").notNullable();
    /** The previous secret during a roll, encrypted, and until when it still signs. */
    t.text("old_secret_enc");
    t.integer("old_secret_expires_at");
    t.integer("created").notNullable();
    t.index(["merchant_id", "livemode", "seq"], "webhook_endpoints_scope_seq");
  });

  await knex.schema.createTable("webhook_deliveries", (t) => {
    t.increments("seq");
    t.string("id", 40).notNullable().unique();
    t.string("merchant_id", 64).notNullable();
    t.boolean("livemode").notNullable();
    t.string("event_id", 40).notNullable();
    t.string("webhook_endpoint_id", 40).notNullable();
    /** pending | succeeded | failed */
    t.string("status", 16).notNullable();
    t.integer("attempt_count").notNullable().defaultTo(0);
    /** When the next attempt is due (unix ms); null once finished. */
    t.bigInteger("next_attempt_ms");
    /** Which worker holds the delivery and until when (unix ms): a crashed worker's lease expires. */
    t.string("lease_owner", 64);
    t.bigInteger("lease_expires_ms");
    t.integer("created").notNullable();
    t.index(["status", "next_attempt_ms"], "webhook_deliveries_due");
    t.index(["webhook_endpoint_id", "seq"], "webhook_deliveries_endpoint");
    t.index(["event_id", "seq"], "webhook_deliveries_event");
  });

  await knex.schema.createTable("webhook_attempts", (t) => {
    t.increments("seq");
    t.string("delivery_id", 40).notNullable();
    t.integer("created").notNullable();
    t.integer("response_status");
    t.integer("latency_ms").notNullable();
    t.text("response_snippet");
    t.string("error", 255);
    t.index(["delivery_id", "seq"], "webhook_attempts_delivery");
  });
}

/** Drops the events and webhook tables. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("webhook_attempts");
  await knex.schema.dropTableIfExists("webhook_deliveries");
  await knex.schema.dropTableIfExists("webhook_endpoints");
  await knex.schema.dropTableIfExists("events");
}
