import { MemoryStore } from './memory-store.js';
import { runStoreContract } from '../../test/support/store.contract.js';

runStoreContract('memory', () => {
  const store = new MemoryStore();
  return Promise.resolve({
    store,
    // Two claimers in one process share the one store object.
    peer: () => Promise.resolve(store),
    dispose: () => store.close(),
  });
});
