export * from './contract';
export * from './hlc';
export * from './merge';
export * from './validate-change';
export * from './assistant-contract';
export * from './clone-json';
export * from './ids';
export * from './reoffer';
