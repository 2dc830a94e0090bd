import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { exposeForTests } from './testing'
import './styles.css'

const pinia = createPinia()
createApp(App).use(pinia).mount('#app')
exposeForTests(pinia)
