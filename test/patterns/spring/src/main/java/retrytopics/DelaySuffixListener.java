package retrytopics;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import org.springframework.kafka.annotation.BackOff;
import org.springframework.kafka.annotation.DltHandler;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.annotation.RetryableTopic;

/** @RetryableTopic with the annotation's defaults for topic naming (suffixes with the delay). */
public class DelaySuffixListener {

	@RetryableTopic(attempts = "${rt.attempts}",
			backOff = @BackOff(delayString = "${rt.delay}", multiplierString = "${rt.multiplier:}",
					maxDelayString = "${rt.maxDelay:}"),
			numPartitions = "${rt.partitions:1}")
	@KafkaListener(id = "rt", topics = "${rt.topic}", groupId = "${rt.group}", autoStartup = "false")
	public void listen(ConsumerRecord<byte[], byte[]> record) {
		Handler.handle(record);
	}

	@DltHandler
	public void dlt(ConsumerRecord<byte[], byte[]> record) {
		Handler.dlt(record);
	}

}
