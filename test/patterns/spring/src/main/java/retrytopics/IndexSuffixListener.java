package retrytopics;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import org.springframework.kafka.annotation.BackOff;
import org.springframework.kafka.annotation.DltHandler;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.annotation.RetryableTopic;
import org.springframework.kafka.retrytopic.TopicSuffixingStrategy;

/** @RetryableTopic whose retry topics are suffixed with their index (-retry-0, -retry-1, ...). */
public class IndexSuffixListener {

	@RetryableTopic(attempts = "${rt.attempts}",
			backOff = @BackOff(delayString = "${rt.delay}", multiplierString = "${rt.multiplier:}",
					maxDelayString = "${rt.maxDelay:}"),
			numPartitions = "${rt.partitions:1}",
			topicSuffixingStrategy = TopicSuffixingStrategy.SUFFIX_WITH_INDEX_VALUE)
	@KafkaListener(id = "rt", topics = "${rt.topic}", groupId = "${rt.group}", autoStartup = "false")
	public void listen(ConsumerRecord<byte[], byte[]> record) {
		Handler.handle(record);
	}

	@DltHandler
	public void dlt(ConsumerRecord<byte[], byte[]> record) {
		Handler.dlt(record);
	}

}
