package retrytopics;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.MessageListenerContainer;

/**
 * Runs one @RetryableTopic listener until stdin closes. System properties: rt.bootstrap,
 * rt.topic, rt.group, rt.attempts, rt.delay, rt.multiplier and rt.maxDelay (optional),
 * rt.suffixing (delay, the annotation's default, or index), rt.role (which containers run: main,
 * retry = the retry topics and the DLT, all, none), rt.failUntil (see Handler).
 *
 * Prints a "containers" event with each listener container's id, group and topics, then
 * "assigned", "attempt", "success" and "dlt" events as JSON lines. A line "align-group GROUP TOPIC"
 * on stdin sets GROUP's committed offsets on TOPIC to its end (another application then starts
 * there) and prints "aligned".
 */
public final class RetryTopicsApp {

	private RetryTopicsApp() {
	}

	public static void main(String[] args) throws Exception {
		String topic = System.getProperty("rt.topic");
		String role = System.getProperty("rt.role", "all");
		Class<?> listener = "index".equals(System.getProperty("rt.suffixing", "delay")) ? IndexSuffixListener.class
				: DelaySuffixListener.class;
		AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext();
		context.register(SpringConfig.class, listener);
		context.refresh();
		KafkaListenerEndpointRegistry registry = context.getBean(KafkaListenerEndpointRegistry.class);
		List<MessageListenerContainer> containers = new ArrayList<>(registry.getAllListenerContainers());
		StringBuilder described = new StringBuilder("[");
		for (int i = 0; i < containers.size(); i++) {
			MessageListenerContainer c = containers.get(i);
			String[] topics = c.getContainerProperties().getTopics();
			described.append(i == 0 ? "" : ",").append("{\"id\":").append(Events.string(c.getListenerId()))
					.append(",\"group\":").append(Events.string(c.getGroupId())).append(",\"topics\":")
					.append(Events.strings(topics == null ? List.of() : List.of(topics))).append('}');
		}
		Events.emit("{\"event\":\"containers\",\"containers\":" + described + "]}");
		for (MessageListenerContainer c : containers) {
			String[] topics = c.getContainerProperties().getTopics();
			boolean isMain = topics != null && List.of(topics).contains(topic);
			boolean start = switch (role) {
				case "main" -> isMain;
				case "retry" -> !isMain;
				case "all" -> true;
				default -> false;
			};
			if (start) {
				c.start();
			}
		}
		Events.emit("{\"event\":\"started\",\"role\":" + Events.string(role) + "}");
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
		for (String line = in.readLine(); line != null; line = in.readLine()) {
			String[] command = line.trim().split("\\s+");
			if (command.length == 3 && "align-group".equals(command[0])) {
				alignGroup(command[1], command[2]);
			}
		}
		context.close();
		Events.emit("{\"event\":\"closed\"}");
		System.exit(0);
	}

	private static void alignGroup(String group, String topic) throws Exception {
		try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, SpringConfig.bootstrap()))) {
			int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
			Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
			for (int p = 0; p < partitions; p++) {
				latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
			}
			Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
			for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e : admin.listOffsets(latest).all()
					.get().entrySet()) {
				offsets.put(e.getKey(), new OffsetAndMetadata(e.getValue().offset()));
			}
			admin.alterConsumerGroupOffsets(group, offsets).all().get();
		}
		Events.emit("{\"event\":\"aligned\",\"group\":" + Events.string(group) + "}");
	}

}
