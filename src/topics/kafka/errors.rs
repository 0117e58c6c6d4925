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
