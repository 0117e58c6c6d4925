//! Mapping rdkafka's errors onto [`TopicError`], once, so the rest of the module speaks the topic layer's language.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::topics::TopicError;

/// A client-level failure (connection, timeout, configuration).
pub(super) fn kafka_error(e: KafkaError) -> TopicError {
    TopicError::Kafka(e.to_string())
}

/// Whether the cluster said the topic (or partition) does not exist.
pub(super) fn is_unknown_topic(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic)
    )
}

/// Whether the error is about a partition number the topic does not have.
pub(super) fn is_unknown_partition(e: &KafkaError) -> bool {
    matches!(e.rdkafka_error_code(), Some(RDKafkaErrorCode::UnknownPartition))
}

/// Whether a consumer error only reports trouble the client recovers from by itself (a broker connection lost and
/// being re-established), as opposed to one the reader must report.
pub(super) fn is_transient(e: &KafkaError) -> bool {
    if matches!(e, KafkaError::MessageConsumptionFatal(_)) {
        return false;
    }
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::TimedOutQueue
        )
    )
}

/// The context of every client: librdkafka reports client-wide errors here as well as to the caller, and rdkafka's
/// default logs all of them as errors. Reaching the end of a partition is routine, and connection trouble the
/// client retries by itself is worth a warning, not an error.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LogContext;

impl rdkafka::ClientContext for LogContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(&error, reason);
    }
}

impl rdkafka::consumer::ConsumerContext for LogContext {}

/// How [`LogContext`] (and the group committers' context) log a client-wide error.
pub(super) fn log_client_error(error: &KafkaError, reason: &str) {
    match error {
        KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF) => {}
        e if is_transient(e) => tracing::warn!("Kafka client: {e}: {reason}"),
        e => tracing::error!("Kafka client: {e}: {reason}"),
    }
}
