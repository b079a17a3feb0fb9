import java.net.InetSocketAddress;
import java.util.List;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * A MongoDB-wire-protocol server (mongo-java-server, in-memory backend) for tests and the demo.
 *
 * <p>Usage: {@code java -cp <lib/*>:<classes> MongoServerMain [PORT [HOST]]}. Binds HOST
 * (default 127.0.0.1) and PORT (default 0: a free port chosen by the OS), prints one line
 * {@code READY <host>:<port>} on stdout once it accepts connections, and serves until it is
 * killed (SIGTERM ends it at once). Data lives in memory only.
 */
public final class MongoServerMain {
    /**
     * The server version announced in the handshake: MongoDB 4.4, wire version 9. The newest
     * version mongo-java-server 1.47.0 ships (MONGO_5_0) announces wire version 8, and PyMongo
     * 4.14+ refuses servers below wire version 9. The commands the project uses (insert, find,
     * count, createIndexes, listIndexes, listCollections, renameCollection, drop, update) behave
     * the same under either announcement.
     */
    private static final MongoVersion ANNOUNCED_VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    private MongoServerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        String host = args.length > 1 ? args[1] : "127.0.0.1";
        MongoServer server = new MongoServer(new MemoryBackend().version(ANNOUNCED_VERSION));
        server.bind(host, port);
        InetSocketAddress address = server.getLocalAddress();
        System.out.println("READY " + address.getHostString() + ":" + address.getPort());
        System.out.flush();
        // Serve until the JVM is killed; the data is in memory only, so there is nothing to flush.
        Thread.currentThread().join();
    }
}
