export { App, type AppOptions, type AppRole } from './app.js';
