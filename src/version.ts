// streamkit's own version, from package.json (src/, dist/ and the bundled CLI alike). The launcher's
// --version fast path imports this module alone.
export { installedVersion as streamkitVersion } from './install-dir.js';
