export { App, type AppOptions, type AppRole } from './app.js';
export { builtInOpenApiDocument, API_VERSION } from './openapi-document.js';
export { monitorsFileJsonSchema } from './monitors-schema.js';
