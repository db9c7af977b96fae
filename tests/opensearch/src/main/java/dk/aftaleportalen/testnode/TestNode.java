package dk.aftaleportalen.testnode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node on loopback for the portal's search tests.
 *
 * <p>Usage: {@code java -cp 'target/classes:target/lib/*' dk.aftaleportalen.testnode.TestNode DIR [HTTP_PORT]}.
 * Data and logs go under DIR; the node binds 127.0.0.1 only, on HTTP_PORT or (by default)
 * a port the system picks. Once it answers, its URL is written to DIR/http.url (replaced
 * in one rename, so a reader never sees half a line) and printed on stdout.
 *
 * <p>The node stops when its standard input closes, so it never outlives the test run
 * that started it, even when that run is killed; SIGTERM stops it too.
 *
 * <p>The modules a full distribution loads from its modules/ folder that the portal
 * uses are given to the node as plugin classes on the class path instead (the protected
 * {@link Node} constructor exists for that): analysis-common for the Danish chain,
 * netty4 for HTTP, reindex for _delete_by_query.
 */
public final class TestNode {

    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment) {
            super(environment, List.of(CommonAnalysisPlugin.class, Netty4Plugin.class, ReindexPlugin.class), true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: TestNode DIR [HTTP_PORT]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String httpPort = args.length > 1 ? args[1] : "0";
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.createDirectories(home.resolve("logs"));
        Files.deleteIfExists(home.resolve("http.url"));

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "aftaleportalen-test")
            .put("node.name", "test-node")
            .put("discovery.type", "single-node")
            // Loopback only: nothing outside this machine can reach it.
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", "0")
            // Test machines often have full-ish disks; the watermarks would then make
            // every index read-only and the tests fail for a reason that is not theirs.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // The tests make and drop hundreds of small indices.
            .put("cluster.max_shards_per_node", 10000)
            .put("action.destructive_requires_name", false)
            .build();

        Node node = new ClasspathNode(new Environment(settings, config));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (IOException e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "test-node-shutdown"));

        long started = System.nanoTime();
        node.start();
        TransportAddress address = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        String url = "http://" + address.getAddress() + ":" + address.getPort();
        Path tmp = home.resolve("http.url.tmp");
        Files.writeString(tmp, url + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, home.resolve("http.url"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("OpenSearch test node at " + url + " (started in " + (System.nanoTime() - started) / 1_000_000 + " ms)");
        System.out.flush();

        // Wait for the end of standard input (the parent went away or closed it).
        InputStream in = System.in;
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // Anything written is ignored; only the end counts.
            }
        } catch (IOException ignored) {
            // A broken pipe is an end too.
        }
        System.exit(0); // runs the shutdown hook, which closes the node
    }
}
