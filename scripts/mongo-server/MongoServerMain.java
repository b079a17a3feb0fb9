import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * A MongoDB-wire-protocol server (mongo-java-server) for tests, the demo and {@code make dashboard}.
 *
 * <p>Usage: {@code java -cp <lib/*>:<classes> MongoServerMain [PORT [HOST [DATA_FILE]]]}. Binds HOST
 * (default 127.0.0.1) and PORT (default 0: a free port chosen by the OS), prints one line
 * {@code READY <host>:<port>} on stdout once it accepts connections, and serves until it is
 * stopped. Without DATA_FILE the data lives in memory only; with it, in that H2 MVStore file
 * (H2 backend), committed on SIGTERM / normal JVM exit, so it survives a restart.
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

    /** The H2 backend with {@link RenamingH2Database}: a renamed collection keeps its data on disk. */
    static final class PersistentBackend extends H2Backend {
        PersistentBackend(String fileName) {
            super(fileName);
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new RenamingH2Database(databaseName, getMvStore(), getCursorRegistry());
        }
    }

    /**
     * H2Database whose renameCollection moves the collection's own maps. In 1.47.0,
     * H2Database.moveCollection reads the collection's name after it was renamed, so it renames the
     * (new, empty) maps of the target name and leaves the data under the old name: after a restart
     * the renamed collection is empty. The publisher swaps every collection by rename.
     */
    static final class RenamingH2Database extends H2Database {
        private final MVStore store;

        RenamingH2Database(String databaseName, MVStore store, CursorRegistry cursorRegistry) {
            super(databaseName, store, cursorRegistry);
            this.store = store;
        }

        @Override
        public void moveCollection(MongoDatabase oldDatabase, MongoCollection<?> collection, String newCollectionName) {
            String oldFullName = collection.getFullName();
            super.moveCollection(oldDatabase, collection, newCollectionName);
            String newFullName = collection.getFullName();
            moveMap("databases." + oldFullName, "databases." + newFullName);
            moveMap("meta." + oldFullName, "meta." + newFullName);
            String indexPrefix = oldFullName + "._index_";
            for (String name : new ArrayList<>(store.getMapNames())) {
                if (name.startsWith(indexPrefix)) {
                    moveMap(name, newFullName + name.substring(oldFullName.length()));
                }
            }
        }

        private void moveMap(String from, String to) {
            if (!store.hasMap(from)) {
                return;
            }
            if (store.hasMap(to)) {
                store.removeMap(to);
            }
            store.renameMap(store.openMap(from), to);
        }
    }

    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        String host = args.length > 1 ? args[1] : "127.0.0.1";
        MongoBackend backend = args.length > 2 ? new PersistentBackend(args[2]) : new MemoryBackend();
        MongoServer server = new MongoServer(backend.version(ANNOUNCED_VERSION));
        // SIGTERM runs shutdown hooks: stop serving, then close the backend, which commits the H2 file.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            backend.close();
        }));
        server.bind(host, port);
        InetSocketAddress address = server.getLocalAddress();
        System.out.println("READY " + address.getHostString() + ":" + address.getPort());
        System.out.flush();
        Thread.currentThread().join();
    }
}
