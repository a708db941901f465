"""Harbor Queue example client.

Publishes a few order events, then consumes them as part of a consumer
group, acknowledging each message after it has been processed.

Requires the official Python client library: pip install harborq
Set HQ_SERVER and HQ_TOKEN before running, for example:

    export HQ_SERVER=localhost:7420
    export HQ_TOKEN=hqt_...
    python examples/client.py
"""

import json
import os
import random
import time

import harborq
from harborq.errors import RateLimited

QUEUE = "shop.orders"


def connect():
    return harborq.Client(
        server=os.environ.get("HQ_SERVER", "localhost:7420"),
        token=os.environ["HQ_TOKEN"],
        ca_file=os.environ.get("HQ_CA_FILE"),  # only needed when TLS is enabled
    )


def publish_with_retry(client, body, key, attempts=6):
    """Publish one message, backing off when the server answers HQ-4290."""
    delay = 0.1
    for _ in range(attempts):
        try:
            return client.publish(QUEUE, json.dumps(body).encode(), key=key)
        except RateLimited as err:
            # Respect the server's hint, then back off exponentially with jitter.
            wait = max(err.retry_after_ms / 1000, delay) * random.uniform(1.0, 1.5)
            time.sleep(wait)
            delay *= 2
    raise RuntimeError(f"giving up after {attempts} attempts")


def handle(order):
    print(f"processing order {order['id']} for customer {order['customer']}")


def consume(client):
    consumer = client.consumer(
        QUEUE,
        group="order-printer",
        max_inflight=20,  # at most 20 unacknowledged messages at a time
        ack_timeout=30,   # seconds before an unacknowledged message is redelivered
    )
    for msg in consumer:
        try:
            handle(json.loads(msg.body))
        except Exception:
            # Reject without requeueing. If the queue was created with --dlq,
            # the message is moved to shop.orders.dlq instead of being retried.
            msg.nack(requeue=False)
        else:
            msg.ack()


def main():
    client = connect()
    for i in range(10):
        customer = f"c-{i % 3}"
        publish_with_retry(client, {"id": i, "customer": customer}, key=customer)
    consume(client)


if __name__ == "__main__":
    main()
