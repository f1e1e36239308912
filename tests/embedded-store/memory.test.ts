import { MemoryBackend } from '../../embedded-store/memory.js';
import { runConformance } from './conformance.js';

runConformance('memory', async (options) => new MemoryBackend(options));
