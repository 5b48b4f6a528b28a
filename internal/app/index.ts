export { App, type AppOptions, type AppRole } from './app.js';
export { openConfiguredStore } from './store.js';
export { StoreMigrator } from '../store/index.js';
export { builtInOpenApiDocument, API_VERSION } from './openapi-document.js';
export { monitorsFileJsonSchema } from './monitors-schema.js';
