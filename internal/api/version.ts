/** The version this API reports in `/openapi.json` and `/info`. */
export const VIGIL_VERSION = '0.1.0';
