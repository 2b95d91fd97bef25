"""The table's stream as Lambda's event source mapping runs it, for the
sam-local check: records read from moto's DynamoDB Streams API from the
mapping's StartingPosition, filtered by its FilterCriteria, handed to the
stream function in batches of its BatchSize with `sam local invoke`; the
records a batch reports failed (`batchItemFailures`) are retried from the
first of them, at most MaximumRetryAttempts times, as Lambda does with
ReportBatchItemFailures."""

import threading
import time

from template import matches

POLL_SECONDS = 0.3


class StreamPump(threading.Thread):
    def __init__(self, streams, sam, mapping, region, log):
        super().__init__(daemon=True)
        self.streams = streams
        self.sam = sam
        self.mapping = mapping
        self.region = region
        self.log = log
        self.stop_event = threading.Event()
        self.errors = []
        self.delivered = 0
        self.batches = 0
        self.idle = threading.Event()

    def run(self):
        try:
            self._run()
        except Exception as e:  # noqa: BLE001  (reported by the harness)
            self.errors.append("stream pump: %s: %s" % (type(e).__name__, e))
            self.log("stream pump stopped: %s" % e)

    def _records(self, after):
        """The records past `after` (shard id -> last sequence number read),
        from a fresh iterator each time: moto replaces a table's stream
        shard when it rolls back a cancelled transaction, so an iterator
        kept across polls would stop seeing new records (in AWS iterators
        expire after 15 minutes anyway)."""
        arn = self.mapping["stream"]
        shards = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        records = []
        for shard in shards:
            sid = shard["ShardId"]
            position = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after[sid]}
                        if sid in after else {"ShardIteratorType": self.mapping["starting_position"]})
            it = self.streams.get_shard_iterator(StreamArn=arn, ShardId=sid, **position)["ShardIterator"]
            got = self.streams.get_records(ShardIterator=it, Limit=1000)["Records"]
            if got:
                after[sid] = got[-1]["dynamodb"]["SequenceNumber"]
            records += got
        return records

    def _run(self):
        after = {}
        pending = []
        while not self.stop_event.is_set():
            for record in self._records(after):
                # Lambda's view of the record: the filter sees it as the
                # function would, with the source ARN added.
                record = _lambda_record(record, self.mapping["stream"], self.region)
                if any(matches(p, record) for p in self.mapping["patterns"]):
                    pending.append(record)
            if not pending:
                self.idle.set()
                self.stop_event.wait(POLL_SECONDS)
                continue
            self.idle.clear()
            batch, pending = pending[: self.mapping["batch_size"]], pending[self.mapping["batch_size"]:]
            pending = self._deliver(batch) + pending

    def _deliver(self, batch):
        """Invokes the function; returns the records to retry (none when
        delivered or past the retry limit, which fails the check)."""
        attempts = 0
        while True:
            self.batches += 1
            kinds = ",".join(r["dynamodb"]["NewImage"].get("kind", {}).get("S", "?") for r in batch)
            answer, elapsed = self.sam.invoke(self.mapping["function"], {"Records": batch}, "stream")
            failed = [f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])]
            self.log("stream: %d record(s) (%s) to %s: %d failed, %.1f s"
                     % (len(batch), kinds, self.mapping["function"], len(failed), elapsed))
            self.delivered += len(batch) - len(failed)
            if not failed:
                return []
            attempts += 1
            if attempts > self.mapping["max_retries"]:
                self.errors.append("%d record(s) still failed after %d retries: %s"
                                   % (len(failed), attempts - 1, failed))
                return []
            seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
            batch = batch[seqs.index(failed[0]):] if failed[0] in seqs else batch

    def wait_idle(self, deadline=120):
        """Until every record read so far is delivered (bounded)."""
        end = time.monotonic() + deadline
        time.sleep(2 * POLL_SECONDS)
        while time.monotonic() < end and not self.errors:
            if self.idle.wait(timeout=1) and self.idle.is_set():
                return
        if not self.errors:
            self.errors.append("stream pump still busy after %d s" % deadline)

    def stop(self):
        self.stop_event.set()
        self.join(timeout=200)


def _lambda_record(record, stream_arn, region):
    record = dict(record)
    change = dict(record["dynamodb"])
    when = change.get("ApproximateCreationDateTime")
    if hasattr(when, "timestamp"):  # boto3 parses it; Lambda sends epoch seconds
        change["ApproximateCreationDateTime"] = int(when.timestamp())
    record["dynamodb"] = change
    record["eventSourceARN"] = stream_arn
    record.setdefault("awsRegion", region)
    return record
