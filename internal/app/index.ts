export { App, type AppOptions, type AppRole } from './app.js';
export { openConfiguredStore } from './store.js';
export { StoreMigrator } from '../store/index.js';
